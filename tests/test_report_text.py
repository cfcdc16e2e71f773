"""What a user reads in a report: no internal references (issue #14)."""

from formcheck.core.faults import RULES


def test_fault_sources_name_the_guide_not_an_internal_seed_file():
    for rule in RULES.values():
        assert "seed" not in rule.source.lower(), rule.id
        assert "guide)" in rule.source, rule.id
