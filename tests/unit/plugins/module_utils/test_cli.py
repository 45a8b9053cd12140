"""Unit tests for _cli: finding a tool, handing it the connection, running it (a fake module runs nothing)."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils import _cli as cli


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, rc=0, out="", err="", on_path=None):
        self.answer, self.on_path, self.ran = (rc, out, err), on_path, []

    def run_command(self, argv, **kwargs):
        self.ran.append((argv, kwargs))
        return self.answer

    def get_bin_path(self, name):
        return self.on_path

    def fail_json(self, **result):
        raise Failed(result["msg"])


def test_find_tool_takes_an_executable_path_or_path_lookup(tmp_path):
    tool = tmp_path / "helm"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert cli.find_tool(FakeModule(), "helm", str(tool), "install helm") == str(tool)
    assert cli.find_tool(FakeModule(on_path="/usr/bin/helm"), "helm", None, "install helm") == "/usr/bin/helm"
    with pytest.raises(Failed, match="helm_path /nope is not an executable file; install helm"):
        cli.find_tool(FakeModule(), "helm", "/nope", "install helm")
    with pytest.raises(Failed, match="helm is not on PATH; install helm or set helm_path"):
        cli.find_tool(FakeModule(), "helm", None, "install helm")


def test_run_returns_the_output_or_raises_with_its_tail():
    module = FakeModule(out="ok")
    assert cli.run(module, ["istioctl", "version"], environ={"A": "1"}) == (0, "ok", "")
    assert module.ran == [(["istioctl", "version"], {"environ_update": {"A": "1"}, "data": None, "binary_data": True})]
    module = FakeModule(rc=79, out="[]")
    assert cli.run(module, ["istioctl", "analyze"], ok_codes=(0, 79))[0] == 79
    with pytest.raises(cli.CommandError) as err:
        cli.run(FakeModule(rc=1, out="out", err="x" * 3000 + " boom\n"), ["helm", "upgrade", "--install", "r"])
    assert str(err.value).startswith("helm upgrade --install failed with exit code 1: xxx") and str(err.value).endswith(
        " boom")
    assert (err.value.rc, err.value.stdout) == (1, "out") and len(err.value.detail) == 2000


def test_run_hands_data_to_standard_input():
    module = FakeModule()
    cli.run(module, ["helm", "upgrade"], data='{"a": 1}')
    assert module.ran[0][1]["data"] == '{"a": 1}' and module.ran[0][1]["binary_data"] is False


@pytest.mark.parametrize("text, seconds", [
    ("300s", 300), ("5m0s", 300), ("1h30m", 5400), ("1.5m", 90), ("0", 0), ("250ms", 0.25), ("2m30.5s", 150.5),
    ("1\u00b5s", 1e-6),
])
def test_duration_seconds_reads_go_durations(text, seconds):
    assert cli.duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["300", "5 m", "", "5d", "m5", "-5s", "5m 0s", "300s;rm"])
def test_duration_seconds_names_a_bad_value(text):
    with pytest.raises(ValueError, match="is not a duration: give a number with a unit, such as 300s"):
        cli.duration_seconds(text)
