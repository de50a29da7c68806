"""Reading a pack folder: the manifest, one JSON file per object, and the rule files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xrm.metadata.jsonfiles import JsonDocument, read_json
from xrm.metadata.model import RuleFile
from xrm.metadata.problems import PackProblem

MANIFEST = "pack.json"
#: Folder of a pack → the kind of object each JSON file in it declares.
KIND_FOLDERS = {"entities": "entity", "views": "view", "workflows": "workflow", "roles": "role",
                "dashboards": "dashboard"}
DEFAULT_RULE_PATTERNS = ("rules/*.rules",)


@dataclass(frozen=True)
class PackSource:
    """A pack folder as read from disk, before any validation of its contents."""

    root: Path
    manifest: JsonDocument | None
    documents: tuple[tuple[str, JsonDocument], ...]
    rule_files: tuple[RuleFile, ...]
    problems: tuple[PackProblem, ...]

    def of_kind(self, kind: str) -> list[JsonDocument]:
        return [doc for k, doc in self.documents if k == kind]


def read_pack(root: Path) -> PackSource:
    """Read every file of the pack at ``root``; problems are collected, never raised."""
    root = Path(root)
    if not root.is_dir():
        problem = PackProblem(str(root), "there is no pack folder here", expected=f"a folder containing {MANIFEST}")
        return PackSource(root, None, (), (), (problem,))
    problems: list[PackProblem] = []
    manifest_path = root / MANIFEST
    manifest = read_json(manifest_path, MANIFEST) if manifest_path.is_file() else None
    if manifest is None:
        problems.append(PackProblem(MANIFEST, f"the pack has no {MANIFEST}", expected="a manifest with name, version and label"))
    documents = []
    resolved_root = root.resolve()
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).as_posix()
        if relative == MANIFEST or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # editor and tool folders (.vscode/, .git/) are not the pack's
        kind = KIND_FOLDERS.get(relative.split("/")[0]) if relative.count("/") == 1 else None
        if kind is None:
            problems.append(PackProblem(
                relative, "this file is not part of any pack file kind, so it is ignored",
                expected="JSON files in " + ", ".join(f"{folder}/" for folder in KIND_FOLDERS), severity="warning",
            ))
            continue
        if not path.is_file() or not path.resolve().is_relative_to(resolved_root):
            problems.append(PackProblem(relative, "not a file inside the pack folder (a folder, or a link to outside)",
                                        expected="a JSON file"))
            continue
        documents.append((kind, read_json(path, relative)))
    rule_files, rule_problems = _read_rule_files(root, manifest)
    problems += rule_problems
    return PackSource(root, manifest, tuple(documents), rule_files, tuple(problems))


def _safe_pattern(pattern: str) -> bool:
    """A glob that stays inside the pack: relative, no '..' step, not empty."""
    parts = pattern.replace("\\", "/").split("/")
    return bool(pattern.strip()) and not pattern.startswith(("/", "~")) and ".." not in parts


def _read_rule_files(root: Path, manifest: JsonDocument | None) -> tuple[tuple[RuleFile, ...], list[PackProblem]]:
    data = manifest.data if manifest is not None and isinstance(manifest.data, dict) else {}
    patterns = data.get("rules", DEFAULT_RULE_PATTERNS)
    if not isinstance(patterns, list | tuple) or not all(isinstance(p, str) for p in patterns):
        return (), []  # the manifest schema reports this
    files, problems, declared = [], [], "rules" in data
    seen: set[Path] = set()
    resolved_root = root.resolve()
    for index, pattern in enumerate(patterns):
        if not _safe_pattern(pattern):
            continue  # the manifest schema reports it; never glob outside the pack
        matches = sorted(
            p for p in root.glob(pattern)
            if p.is_file() and p.resolve().is_relative_to(resolved_root) and p.resolve() not in seen
        )
        seen.update(p.resolve() for p in matches)
        if not matches and declared:
            problems.append(PackProblem(
                MANIFEST, f"no rule file matches '{pattern}'", path=f"$.rules[{index}]",
                expected="at least one .rules file", found="none",
            ))
        for path in matches:
            relative = path.relative_to(root).as_posix()
            try:
                files.append(RuleFile(relative, path.read_text(encoding="utf-8")))
            except UnicodeDecodeError as exc:
                problems.append(PackProblem(relative, f"the file is not UTF-8 text (byte {exc.start})"))
    return tuple(files), problems
