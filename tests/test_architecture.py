"""The package's shape, enforced: imports point inward, no cycles, one of each shared thing.

Parses every module under formcheck/ with ``ast`` (nothing is imported), so a violation is
reported with the file and line that caused it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "formcheck"
EDGE_LIBS = ("cv2", "mediapipe", "av", "PIL", "fastapi", "uvicorn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, function-level ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for a in node.names:  # `from formcheck.core import kinematics` imports a module
                sub = f"{base}.{a.name}"
                out.append((sub if sub in MODULES else base, node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        g[name] = {m for m, _ in imports(path) if m in MODULES and m != name}
    return g


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for name, path in MODULES.items():
        if name == package or name.startswith(package + "."):
            for mod, line in imports(path):
                if any(mod == f or mod.startswith(f + ".") for f in forbidden):
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    return bad


def test_the_parser_sees_the_package():
    assert {"formcheck.core.analysis", "formcheck.app.session", "formcheck.media.pose",
            "formcheck.render.report"} <= set(MODULES)
    g = graph()
    assert "formcheck.core.analysis" in g["formcheck.app.session"]
    assert "formcheck.core.kinematics" in g["formcheck.core.analysis"]  # `from ... import K`


def test_no_import_cycles():
    assert find_cycle(graph()) is None, " -> ".join(find_cycle(graph()) or [])


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_core_is_pure():
    assert violations("formcheck.core", EDGE_LIBS + (
        "formcheck.media", "formcheck.render", "formcheck.app")) == []


def test_media_does_not_import_front_ends_or_renderers():
    assert violations("formcheck.media", ("formcheck.app", "formcheck.render")) == []


def test_render_does_not_import_front_ends():
    assert violations("formcheck.render", ("formcheck.app",)) == []


def test_front_ends_do_not_import_the_cli():
    # cli registers the front ends' subcommands; they take shared options from app.options.
    users = {v.split(":")[0] for v in violations("formcheck", ("formcheck.app.cli",))}
    assert users == {"formcheck/__main__.py"}  # `python -m formcheck` (and cli itself)


def calls(name: str, roots: list[Path]) -> list[str]:
    """``file:line`` of every call of ``name(...)`` or ``x.name(...)`` under ``roots``."""
    out = []
    for root in roots:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    f = node.func
                    called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                    if called == name:
                        out.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return out


NON_TEST_CODE = [p for p in (PKG, ROOT / "scripts", ROOT / "benchmarks") if p.exists()]


def test_one_pose_estimator_constructor_outside_tests():
    # make_estimator and the pool of models (PoseEstimatorPool), both in the pose module
    sites = calls("PoseEstimator", NON_TEST_CODE)
    assert len(sites) == 2 and {s.split(":")[0] for s in sites} == {"formcheck/media/pose.py"}, sites


# Modules that run the pose model on a few still frames for a decision of their own and never
# feed an Analyzer: the orientation probe (which way is up, before the first frame is analysed).
POSE_PROBES = {"formcheck/media/orientation.py"}


def test_one_frame_loop_and_one_report_builder_in_the_package():
    # The Analyzer is driven only by the Session; the report is built only by make_report.
    assert [s.split(":")[0] for s in calls("Analyzer", [PKG])] == ["formcheck/app/session.py"]
    assert [s.split(":")[0] for s in calls("build_report", [PKG])] == ["formcheck/app/session.py"]
    # frame -> pose -> analysis happens only in Session.step; a probe may call the model, but
    # its poses must not be able to reach the analysis.
    # (formcheck/media/pose.py is the model itself: it calls MediaPipe's detect in IMAGE mode.)
    detect_sites = {s.split(":")[0] for s in calls("detect", [PKG])}
    assert detect_sites - POSE_PROBES - {"formcheck/media/pose.py"} == {"formcheck/app/session.py"}
    for probe in sorted(POSE_PROBES):
        feeds = [f"{probe}:{line} imports {m}" for m, line in imports(ROOT / probe)
                 if m.startswith(("formcheck.core.analysis", "formcheck.app"))]
        feeds += [f"{site} calls update()" for site in calls("update", [ROOT / probe])]
        assert probe.startswith("formcheck/media/") and feeds == [], feeds


@pytest.mark.parametrize("name", ["VIDEO_SUFFIXES", "IMAGE_SUFFIXES", "AUDIO_SUFFIXES"])
def test_one_definition_of_each_suffix_list(name):
    defs = []
    for mod, path in MODULES.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                defs.append(mod)
    assert defs == ["formcheck.media.formats"]


def test_one_downscale():
    # sources.py: the downscale (and the cropped frame brought to its target size); cuts.py:
    # the scene-cut detector's fixed 64x36 thumbnails (a feature, not a frame handed on; it moved
    # out of sources.py with the detector); video_out.py: frames brought to the writer's fixed
    # size (not a downscale)
    sites = calls("resize", [PKG / "media", PKG / "app"])
    assert sorted({s.split(":")[0] for s in sites}) == ["formcheck/media/cuts.py",
                                                       "formcheck/media/sources.py",
                                                       "formcheck/media/video_out.py"]
