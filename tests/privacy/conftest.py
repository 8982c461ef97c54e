"""The privacy tests reuse the incidents tests' organisation (``org``)."""

from tests.incidents.conftest import org

__all__ = ["org"]
