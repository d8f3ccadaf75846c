"""What every anchor script shares: the host and library versions, and its JSON output."""
import json
import platform
import sys


def cpu_model() -> str:
    """The host CPU's model name (Linux /proc/cpuinfo; platform's answer elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions(*modules) -> dict:
    out = {"python": platform.python_version()}
    for m in modules:
        out[m.__name__] = getattr(m, "__version__", "unknown")
    return out


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(result: dict) -> None:
    """The one line bench/anchors.ts parses: the last line of stdout."""
    result.setdefault("host", {"cpu": cpu_model(), "platform": platform.platform()})
    print(json.dumps(result), flush=True)


def parse_shapes(text: str) -> list:
    """'512x1024x4096,1x512x50272' (M x K x N, as kiln's bench names them) as tuples."""
    shapes = []
    for part in text.split(","):
        dims = part.lower().split("x")
        if len(dims) != 3 or not all(d.isdigit() and int(d) > 0 for d in dims):
            raise SystemExit(f"--shapes: '{part}' is not MxKxN with positive integers")
        shapes.append(tuple(int(d) for d in dims))
    return shapes


def median(xs: list) -> float:
    s = sorted(xs)
    return s[len(s) // 2]
