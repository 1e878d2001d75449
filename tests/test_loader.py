"""The safe loader: refuses every hostile file with a message and no side effect, loads real answers."""

import base64
import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import json_tricks
import numpy as np
import pytest

from graders.core import answer_limits
from graders.core.answer_files import save_answers
from graders.core.loader import TORCH_TENSOR_MESSAGE, AnswerFileError, Rejected, load_answers, loads_answers
from graders.core.paths import REPO_ROOT


def deleting_gadget(victim: Path) -> dict:
    """json_tricks builds this object, and its __del__ unlinks `victim`."""
    attributes = {"file": "not a file", "name": str(victim), "delete": True}
    return {"__instance_type__": ["tempfile", "_TemporaryFileCloser"], "attributes": attributes}


def gzip_bomb_array() -> dict:
    payload = base64.b64encode(gzip.compress(bytes(1_000_000))).decode()
    return {"__ndarray__": "b64.gz:" + payload, "dtype": "uint8", "shape": [1_000_000]}


# Each value, stored under key "answer", must come back as Rejected with a message containing the text.
HOSTILE_VALUES = {
    "enum": ({"__enum__": {"__enum_instance_type__": ["colorsys", "ONE_THIRD"], "name": "x"}}, "__enum__"),
    "numpy_call_by_dtype": (
        {"__ndarray__": "/etc/passwd", "dtype": "fromfile", "shape": []},
        "dtype 'fromfile'",
    ),
    "numpy_load_by_dtype": ({"__ndarray__": "x.npy", "dtype": "load", "shape": []}, "dtype 'load'"),
    "object_dtype_huge": (
        {"__ndarray__": [], "dtype": "object", "shape": [100_000, 100_000]},
        "dtype 'object'",
    ),
    "huge_declared_shape": ({"__ndarray__": [], "dtype": "float64", "shape": [100_000, 100_000]}, "exceeds"),
    "b64_gzip_bomb": (gzip_bomb_array(), "compressed arrays"),
    "base64_length_mismatch": ({"__ndarray__": "b64:AAAA", "dtype": "float64", "shape": [4]}, "bytes"),
    "shape_mismatch": ({"__ndarray__": [1.0, 2.0, 3.0], "dtype": "float64", "shape": [2]}, "data has shape"),
    "strings_in_array": ({"__ndarray__": ["rm", "-rf"], "dtype": "float64", "shape": [2]}, "not a number"),
    "boolean_shape": ({"__ndarray__": [1.0], "dtype": "float64", "shape": [True]}, "non-negative integers"),
    "extra_array_field": ({"__ndarray__": [1.0], "dtype": "float64", "shape": [1], "hook": "x"}, "'hook'"),
    "set_marker": ({"__set__": [1, 2]}, "__set__"),
    "nested_object": ([1, {"inner": {"__instance_type__": ["colorsys", "x"], "attributes": {}}}], "colorsys"),
    "torch_tensor": ({"__instance_type__": ["torch", "Tensor"], "attributes": {}}, TORCH_TENSOR_MESSAGE),
    "torch_parameter": (
        {"__instance_type__": ["torch.nn.parameter", "Parameter"], "attributes": {}},
        "torch tensor",
    ),
}

# Each raw file must raise AnswerFileError with a message containing the text.
HOSTILE_FILES = {
    "empty": (b"", "empty"),
    "whitespace": (b"  \n", "empty"),
    "truncated": (b'{"X_grad": {"__ndarray__": [[20.0, 40.0', "truncated"),
    "not_utf8": (b'{"a": "\xff\xfe"}', "not UTF-8"),
    "gzip_file": (gzip.compress(b'{"a": 1}'), "gzip"),
    "duplicate_keys": (b'{"X_grad": 1, "X_grad": 2}', "appears twice"),
    "deeply_nested": (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
    "top_level_list": (b"[1, 2, 3]", "not a list"),
    "huge_integer": (b'{"a": ' + b"9" * 10_000 + b"}", "not valid JSON"),
    "binary_noise": (bytes(range(256)), "not UTF-8"),
}


def dump(value: object) -> bytes:
    return json.dumps({"answer": value}).encode()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test_hostile_value_is_rejected_with_a_message(name: str, tmp_path: Path) -> None:
    value, expected_text = HOSTILE_VALUES[name]
    path = tmp_path / ".answer.json"
    path.write_bytes(dump(value))
    before = snapshot(tmp_path)
    answers = load_answers(path)
    assert isinstance(answers["answer"], Rejected)
    assert expected_text in answers["answer"].reason
    assert "'answer'" in answers["answer"].reason, "the message names the key"
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_hostile_file_is_refused_with_a_message(name: str, tmp_path: Path) -> None:
    raw, expected_text = HOSTILE_FILES[name]
    path = tmp_path / ".answer.json"
    path.write_bytes(raw)
    with pytest.raises(AnswerFileError, match=expected_text):
        load_answers(path)


def test_deleting_gadget_is_real_for_json_tricks_but_harmless_here(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    hostile = json.dumps({"answer": deleting_gadget(victim)})
    unsafe = "import gc, json_tricks, sys; json_tricks.loads(sys.argv[1]); gc.collect()"
    subprocess.run([sys.executable, "-c", unsafe, hostile], capture_output=True, check=False)
    assert not victim.exists(), (
        "json_tricks' default loader should have deleted the victim (the attack is real)"
    )

    victim.write_text("precious")
    answers = loads_answers(hostile)
    assert isinstance(answers["answer"], Rejected)
    del answers
    assert victim.read_text() == "precious"


def test_loading_imports_nothing_the_file_names() -> None:
    """In a fresh interpreter: other tests (matplotlib) may have imported colorsys in this one."""
    probe = (
        "import json, sys\n"
        "from graders.core.loader import loads_answers\n"
        "assert 'colorsys' not in sys.modules\n"
        "instance = {'__instance_type__': ['colorsys', 'ONE_THIRD'], 'attributes': {}}\n"
        "enum = {'__enum__': {'__enum_instance_type__': ['colorsys', 'x'], 'name': 'y'}}\n"
        "for crafted in (instance, enum):\n"
        "    loads_answers(json.dumps({'answer': crafted}))\n"
        "print('colorsys' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / ".answer.json"
    path.write_bytes(b'{"a": "' + b"x" * answer_limits.MAX_FILE_BYTES + b'"}')
    with pytest.raises(AnswerFileError, match="larger than"):
        load_answers(path)


def test_many_small_arrays_cannot_add_up_past_the_budget() -> None:
    count = answer_limits.MAX_TOTAL_ELEMENTS // answer_limits.MAX_ARRAY_ELEMENTS + 1
    declared = {"__ndarray__": "b64:", "dtype": "uint8", "shape": [answer_limits.MAX_ARRAY_ELEMENTS]}
    answers = loads_answers(json.dumps({f"k{i}": declared for i in range(count)}))
    assert any(isinstance(v, Rejected) and "more than" in v.reason for v in answers.values())


def test_missing_file_names_the_dump_cell(tmp_path: Path) -> None:
    with pytest.raises(AnswerFileError, match="did the cell that saves answers run"):
        load_answers(tmp_path / ".answer.json")


def test_nan_and_infinity_load_as_numbers() -> None:
    answers = loads_answers(
        '{"a": NaN, "b": [Infinity, -Infinity], '
        '"c": {"__ndarray__": [NaN, 1.0], "dtype": "float64", "shape": [2]}}'
    )
    assert np.isnan(answers["a"]) and answers["b"] == [float("inf"), float("-inf")]
    assert np.isnan(answers["c"][0]) and answers["c"][1] == 1.0


def test_json_tricks_formats_round_trip(tmp_path: Path) -> None:
    original = {
        "matrix": np.arange(12, dtype=np.float32).reshape(3, 4),
        "scalar_array": np.float64(2.5) * np.ones(()),
        "ints": np.array([1, 2, 3], dtype=np.int64),
        "flags": [True, False],
        "history": [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
        "name": "PowBackward0",
    }
    for compact in (False, True):
        path = tmp_path / f"compact-{compact}.json"
        stored = (
            original if compact else {**original, "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3))}
        )
        path.write_text(json_tricks.dumps(stored, properties={"ndarray_compact": compact}))
        loaded = load_answers(path)
        for key, value in stored.items():
            if isinstance(value, np.ndarray):
                assert loaded[key].dtype == value.dtype and np.array_equal(loaded[key], value), key
        assert np.array_equal(loaded["history"][1], original["history"][1])
        assert loaded["flags"] == [True, False] and loaded["name"] == "PowBackward0"


def test_save_answers_converts_tensors_and_stays_readable_by_json_tricks(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = save_answers(
        {
            "grad": torch.ones(2, 3, requires_grad=True) * 2,
            "history": [torch.tensor([1.0]), torch.tensor([2.0])],
            "value": np.float32(1.5),
        },
        tmp_path / ".answer.json",
    )
    ours, theirs = load_answers(path), json_tricks.load(str(path))
    assert np.array_equal(ours["grad"], np.full((2, 3), 2.0)) and np.array_equal(theirs["grad"], ours["grad"])
    assert [h.tolist() for h in ours["history"]] == [[1.0], [2.0]] and ours["value"] == 1.5


def test_save_answers_names_an_ungradable_value(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"history\[1\] is a object"):
        save_answers({"history": [1.0, object()]}, tmp_path / ".answer.json")


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "answers").glob("*.json")), ids=lambda p: p.stem)
def test_every_reference_answer_file_loads_cleanly(path: Path) -> None:
    answers = load_answers(path)
    assert answers and not [key for key, value in answers.items() if isinstance(value, Rejected)]


def test_no_byte_string_crashes_the_loader() -> None:
    # Fixed seed: the same mutations on every run, so a failure reproduces.
    rng = random.Random(1234)
    valid = (REPO_ROOT / "answers" / "00_autograd.json").read_bytes()
    for _ in range(3000):
        raw = bytearray(valid)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(raw))
            action = rng.random()
            if action < 0.4:
                raw[position] = rng.randrange(256)
            elif action < 0.7:
                del raw[position : position + rng.randint(1, 50)]
            else:
                raw[position:position] = rng.choice([b"{", b"}", b"[", b'"__', b"NaN", b'"shape": [', b"\\u"])
        try:
            result = loads_answers(bytes(raw))
        except AnswerFileError:
            continue
        assert isinstance(result, dict)


def test_a_diverged_run_is_saved_and_read_back_as_nan_and_infinity(tmp_path: Path) -> None:
    path = save_answers({"history": [1.0, float("inf")], "X": np.array([np.nan, 2.0])}, tmp_path / "a.json")
    answers = load_answers(path)
    assert answers["history"] == [1.0, float("inf")]
    assert np.isnan(answers["X"][0]) and answers["X"][1] == 2.0
