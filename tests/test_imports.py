"""The engine's start pays only for what it uses (``semcode/imports.py``)."""

import subprocess
import sys


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_local_store_works_without_loading_the_rest_client(tmp_path):
    out = run(f"""
import sys
from semcode.store.tables import Store
import pyarrow as pa
store = Store({str(tmp_path / "store")!r})
store.table("t", pa.schema([("x", pa.int64())])).add(pa.table({{"x": [1, 2]}}))
print(store.count("t"), "lance_namespace_urllib3_client.api" in sys.modules)
""")
    assert out == "2 False"


def test_the_rest_client_is_whole_on_first_use():
    out = run("""
import semcode.store.tables, lance_namespace_urllib3_client as client
print(client.ApiClient.__name__, client.TableApi.__name__, client.__version__)
""")
    assert out.startswith("ApiClient TableApi 0.")
