import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
SAMPLES = ROOT / "sample_videos"
SHARED = ROOT.parent / "shared"
REPORT_SCHEMA = ROOT / "docs" / "report.schema.json"


def report_validator():
    """A jsonschema validator of docs/report.schema.json (the published report contract)."""
    import jsonschema

    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


VALIDATED = {"reports": 0}


@pytest.fixture(autouse=True, scope="session")
def _every_report_matches_the_published_schema():
    """Every report any test builds in this process is validated against the JSON schema."""
    from formcheck.core.schema import Report

    validator = report_validator()
    plain = Report.to_dict

    def to_dict(self):
        d = plain(self)
        validator.validate(json.loads(json.dumps(d, allow_nan=False)))
        VALIDATED["reports"] += 1
        return d

    Report.to_dict = to_dict
    yield
    Report.to_dict = plain
