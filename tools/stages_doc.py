"""Write docs/stages.md, the stage table, from the stage registry (plugins/plugin_utils/_stages.py): `make docs`.

tests/unit/plugins/plugin_utils/test_stages.py fails when the file differs from what this prints.
"""

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "stages.md"

HEAD = """# The stages

<!-- Generated from the stage registry, plugins/plugin_utils/_stages.py, by `make docs`: do not edit. -->

`site.yml` runs these stages in this order, each with its role under its tags; `cleanup.yml` removes them in the
reverse order (`tasks_from: absent`), each under its tags and its cleanup part, when `aksmesh_cleanup_<part>` is
true (the default, except for the static IP); there the part is a tag too, and the control plane's removal ends
with the Istio CRDs and the namespaces the collection owns (tags `crds` and `namespaces`, variables
`aksmesh_cleanup_crds` and `aksmesh_cleanup_namespaces`). `--tags <tag>` selects stages, `--skip-tags <tag>` leaves them out:
`credentials` is tagged `always` (every stage needs the kubeconfig), and `istioctl` and `analyze` run with every
stage that changes the mesh (`--tags traffic` is analyzed; `--tags preflight` is not). The settings publish the
table per host as `settings_mesh.stages`, with whether each stage runs for the host and why not; the run's summary
shows it. Render mode writes each stage to its folder under `aksmesh_render_dir`, in the order a cluster must apply
them.

| stage | role | tags | render folder | prunes | cleanup part | switch | install methods |
|---|---|---|---|---|---|---|---|
"""


def table():
    sys.path.insert(0, str(REPO / ".build" / "collections"))
    from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages

    def code(items):
        return ", ".join("`%s`" % item for item in items) or "-"
    rows = []
    for stage in stages.STAGES:
        cleanup = "`%s`%s" % (stage.cleanup, "" if stage.cleanup_default else " (when asked)") if stage.cleanup else "-"
        rows.append("| `%s` | `%s` | %s | %s | %s | %s | %s | %s |" % (
            stage.name, stage.entry, code(stage.tags), code([stages.folder(stage)] if stage.number is not None else []),
            ", ".join(kind for _api, kind in stage.prune) or "-", cleanup,
            "`aksmesh_%s`" % stage.switch if stage.switch else "-", code(stage.methods) if stage.methods else "all"))
    return HEAD + "\n".join(rows) + "\n"


if __name__ == "__main__":
    OUT.write_text(table())
    print("wrote %s" % OUT.relative_to(REPO))
