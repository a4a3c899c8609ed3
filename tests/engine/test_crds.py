"""crds/ is generated from the kinds' declarations; committed files must match."""

import pathlib

from infra_operator.operator.crds import all_crds, rendered_files
from infra_operator.operator.engine.schema import CATEGORY

CRDS = pathlib.Path(__file__).resolve().parents[2] / "crds"


def test_committed_crds_are_current():
    expected = rendered_files()
    on_disk = {p.name: p.read_text() for p in CRDS.glob("*.yaml")}
    assert on_disk == expected, "crds/ is stale: run `python -m infra_operator.operator.crds crds`"


def test_every_crd_has_category_short_name_status_and_ready_column():
    for crd in all_crds():
        names, version = crd["spec"]["names"], crd["spec"]["versions"][0]
        assert CATEGORY in names["categories"] and names["shortNames"]
        assert version["subresources"] == {"status": {}}
        columns = [c["name"] for c in version["additionalPrinterColumns"]]
        assert columns[0] == "Ready" and columns[-1] == "Age"
