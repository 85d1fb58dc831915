"""The panel's jest suite (components and request layer, labextension/src/__tests__), run by pytest.

`pip install -e .` installs the extension's node modules and builds it; without them this
fails with what to run, it does not skip.
"""

import subprocess
from pathlib import Path

LABEXTENSION = Path(__file__).resolve().parents[1] / "labextension"
JEST = LABEXTENSION / "node_modules" / ".bin" / "jest"


def test_jest_suite_passes():
    assert JEST.exists(), (
        "labextension/node_modules is missing: run `pip install -e .` (it runs jlpm install) "
        "or `cd labextension && jlpm install`."
    )
    result = subprocess.run(
        [str(JEST), "--ci", "--silent"],
        cwd=LABEXTENSION,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-6000:]
    assert "Tests:" in report and " failed" not in report.split("Tests:")[1].splitlines()[0]
