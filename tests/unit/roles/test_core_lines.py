"""What the roles and playbooks need to run the same on every ansible-core line meta/runtime.yml claims (2.16 to
2.19; make core-matrix runs the unit tests and the demo render on each): the constructs the older lines take
differently, checked on any line."""

import pathlib
import re

import jinja2
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
FILES = sorted((REPO / "roles").rglob("*.yml")) + sorted((REPO / "playbooks").rglob("*.yml"))
# the task keywords that ansible-core evaluates as conditions (the assert action's that too)
CONDITION_KEYS = ("when", "changed_when", "failed_when", "until", "that")


def tasks(items):
    for task in items if isinstance(items, list) else []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from tasks(task.get(key))


def every_task():
    for path in FILES:
        for task in tasks(yaml.safe_load(path.read_text())):
            yield path.relative_to(REPO), task


def conditions(task):
    for key in CONDITION_KEYS:
        values = task.get(key)
        if key == "that":
            values = values if values is not None else (task.get("ansible.builtin.assert") or {}).get("that")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str):
                yield key, value


def test_there_are_tasks_to_check():
    found = list(every_task())
    assert len(found) > 100 and any(dict(conditions(t)) for _path, t in found)


def test_every_condition_is_one_jinja_expression_inside_an_if_statement():
    """ansible-core 2.17 evaluates a condition as {% if <condition> %}: a bare inline if (``a if b else c``) is a
    syntax error there (2.16, 2.18 and 2.19 take it); in parentheses it is one expression on every line."""
    env = jinja2.Environment()
    found = []
    for path, task in every_task():
        for key, condition in conditions(task):
            try:
                env.parse("{%% if %s %%} True {%% else %%} False {%% endif %%}" % condition)
            except jinja2.TemplateSyntaxError as exc:
                found.append("%s: %s: %s: %s (%s)" % (path, task.get("name"), key, condition.strip(), exc))
    assert found == []


def test_no_task_runs_async_in_check_mode():
    """ansible-core before 2.17 fails a task that has async in check mode ('check mode and async cannot be used on
    same task'): every async of a role or playbook is 0 in a dry run."""
    found = []
    for path, task in every_task():
        if "async" in task:
            value = str(task["async"])
            if not re.search(r"\bnot\b[^}]*\bansible_check_mode\b|\b0 if ansible_check_mode\b", value):
                found.append("%s: %s: async %s" % (path, task.get("name"), value.strip()))
    assert found == []


@pytest.mark.parametrize("condition, ok", [
    ("(a if b else c)", True),
    ("a if b else c", False),
])
def test_the_condition_check_tells_a_bare_inline_if(condition, ok):
    env = jinja2.Environment()
    try:
        env.parse("{%% if %s %%} True {%% else %%} False {%% endif %%}" % condition)
    except jinja2.TemplateSyntaxError:
        assert not ok
    else:
        assert ok
