"""The function registry: duplicates refused, every function documented."""

from __future__ import annotations

import pytest

from xrm.rules.expr import DuplicateFunction, functions, get_function, register_function


def test_duplicates_are_refused() -> None:
    with pytest.raises(DuplicateFunction):
        register_function(type(get_function("lower")))


def test_every_function_is_documented() -> None:
    for name, function in functions().items():
        assert function.doc and function.signature.startswith(f"{name}("), name
