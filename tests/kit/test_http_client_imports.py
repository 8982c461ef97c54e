"""The services' HTTP client does not run the import machinery on every request (issue 16)."""

from __future__ import annotations

import sys

import httpcore._synchronization as synchronization


class TestAsyncLibraryLookup:
    async def test_httpcore_finds_the_async_library_without_importing_per_call(self) -> None:
        # httpcore imports sniffio inside the function it calls for every request; when
        # sniffio is missing, each call goes through the whole import machinery and fails.
        assert synchronization.current_async_library() == "asyncio"
        assert "sniffio" in sys.modules
