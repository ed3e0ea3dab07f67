"""Reads a Stockade rule pack with pySigma, the reference implementation
of the Sigma specification (what sigma-cli runs), as it is: every document
of every `*.yml` / `*.yaml` file under the directory a Sigma rule or
correlation rule, the correlations' rule references resolved, and
pySigma's own validators run over them all, but three: the two that
download MITRE data (tests never leave the machine) and the SigmaHQ
repository's convention on file-name length.

Prints one JSON object per rule (name, id, kind, correlation type,
logsource category), sorted by name. Exits 1 with each error and
validation issue on stderr.

    python3 check_pack.py RULES_DIR
"""

import json
import sys

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.validation import SigmaValidator
from sigma.validators.core import validators

SKIPPED = {"attacktag", "d3_fendtag", "filename_length"}


def main(directory: str) -> int:
    collection = SigmaCollection.load_ruleset([directory], collect_errors=True)
    problems = []
    for rule in collection.rules:
        for error in rule.errors:
            problems.append(f"{rule.source}: {type(error).__name__}: {error}")
    if not problems:
        try:
            collection.resolve_rule_references()
        except Exception as error:  # pySigma's errors are plain exceptions
            problems.append(f"resolving references: {type(error).__name__}: {error}")
    if not problems:
        chosen = [v for name, v in sorted(validators.items()) if name not in SKIPPED]
        for issue in SigmaValidator(chosen).validate_rules(collection):
            names = ", ".join(str(r.name or r.title) for r in issue.rules)
            problems.append(f"{names}: {type(issue).__name__} ({issue.severity.name}): {issue.description}")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    rules = []
    for rule in collection.rules:
        correlation = isinstance(rule, SigmaCorrelationRule)
        rules.append(
            {
                "name": rule.name,
                "id": str(rule.id),
                "kind": "correlation" if correlation else "detection",
                "correlation_type": rule.type.name.lower() if correlation else None,
                "category": None if correlation else rule.logsource.category,
            }
        )
    for r in sorted(rules, key=lambda r: r["name"] or ""):
        print(json.dumps(r, sort_keys=True))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
