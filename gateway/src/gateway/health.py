"""``/readyz`` reports each upstream service next to the gateway's own database."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.proxy import Upstream, UpstreamError
from gateway.resilience import BreakerState, CircuitBreaker
from kit.health import CheckResult, ReadinessCheck


def upstream_checks(
    upstreams: Mapping[str, Upstream], breakers: Mapping[str, CircuitBreaker]
) -> dict[str, ReadinessCheck]:
    """One check per upstream. A down service is reported but does not make the gateway
    unready: pulling every gateway out of the load balancer would turn one failing
    service into a full outage, while the gateway still serves the directory and the
    other services."""

    def check(upstream: Upstream, breaker: CircuitBreaker) -> ReadinessCheck:
        async def probe() -> CheckResult:
            try:
                await upstream.fetch_json("/healthz", headers={})
            except UpstreamError as exc:
                return CheckResult(True, f"unreachable ({type(exc.__cause__).__name__})")
            if breaker.state is not BreakerState.CLOSED:
                return CheckResult(True, f"reachable, breaker {breaker.state.name.lower()}")
            return CheckResult(True, "ok")

        return probe

    return {
        f"upstream:{name}": check(upstream, breakers[name]) for name, upstream in upstreams.items()
    }
