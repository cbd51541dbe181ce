"""Event-log import speed and memory: MB/s of uncompressed log, peak RSS, vs a naive parser.

Builds a large event log by replicating the jobs of a real PySpark run (a small PageRank
run by ``jobcast.workloads``, or ``--source LOG``) with renumbered job and stage ids and
one job group per copy, then imports it with ``jobcast.collect.read_event_log``,
uncompressed, zstd and lz4 (Spark's framings), and compares with the obvious approach of
``json.loads`` on every line.

    .venv/bin/python benchmarks/bench_eventlog_import.py [--mb 200] [--source LOG]

Target (issue 4): >= 50 MB/s of uncompressed log with flat memory.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import lz4.block
import psutil
import zstandard

from jobcast.collect import read_event_log
from jobcast.collect.sources import LineStream, resolve_event_log

MB = 1_000_000


def real_log(work: Path, source: str | None) -> list[bytes]:
    if source is None:
        from jobcast.workloads import run_workload

        result = run_workload(
            "pagerank",
            size=3000,
            cores=2,
            params={"iterations": 3},
            event_log_dir=work / "events",
        )
        assert result.event_log is not None
        source = str(result.event_log)
    stream = LineStream(resolve_event_log(source))
    return [line.rstrip(b"\r\n") for line in stream if line.strip()]


_STAGE = re.compile(rb'"Stage ID":(\d+)')
_STAGE_IDS = re.compile(rb'"Stage IDs":\[([\d,]*)\]')
_JOB = re.compile(rb'"Job ID":(\d+)')
_GROUP = re.compile(rb'"spark.jobGroup.id":"([^"]*)"')


def build_log(lines: list[bytes], target: Path, size_mb: int) -> int:
    """Write header, the job block replicated with new ids until ``size_mb``, footer."""
    first_job = next(i for i, line in enumerate(lines) if b'"SparkListenerJobStart"' in line)
    last_end = max(i for i, line in enumerate(lines) if b'"SparkListenerJobEnd"' in line)
    header, body, footer = lines[:first_job], lines[first_job : last_end + 1], lines[last_end + 1 :]
    stages = [int(m) for line in body for m in _STAGE.findall(line)]
    jobs = [int(m) for line in body for m in _JOB.findall(line)]
    stage_span, job_span = max(stages) + 1, max(jobs) + 1
    written = 0
    with target.open("wb") as out:
        for line in header:
            out.write(line + b"\n")
            written += len(line) + 1
        copy = 0
        while written < size_mb * MB:
            so, jo = copy * stage_span, copy * job_span

            def stage(m: re.Match[bytes], so: int = so) -> bytes:
                return b'"Stage ID":%d' % (int(m.group(1)) + so)

            def stage_ids(m: re.Match[bytes], so: int = so) -> bytes:
                ids = [int(x) + so for x in m.group(1).split(b",") if x]
                return b'"Stage IDs":[' + b",".join(b"%d" % i for i in ids) + b"]"

            def job(m: re.Match[bytes], jo: int = jo) -> bytes:
                return b'"Job ID":%d' % (int(m.group(1)) + jo)

            def group(m: re.Match[bytes], copy: int = copy) -> bytes:
                return b'"spark.jobGroup.id":"%s-copy%d"' % (m.group(1), copy)

            for line in body:
                line = _STAGE.sub(stage, line)
                if b'"SparkListenerJob' in line[:30]:
                    line = _STAGE_IDS.sub(stage_ids, _JOB.sub(job, _GROUP.sub(group, line)))
                out.write(line + b"\n")
                written += len(line) + 1
            copy += 1
        for line in footer:
            out.write(line + b"\n")
            written += len(line) + 1
    return written


def write_zstd(src: Path, dst: Path) -> None:
    with src.open("rb") as i, dst.open("wb") as o:
        zstandard.ZstdCompressor(level=1).copy_stream(i, o)


def write_lz4(src: Path, dst: Path) -> None:
    """lz4-java's LZ4BlockOutputStream framing, as Spark's lz4 codec writes it."""
    block = 32 * 1024
    with src.open("rb") as i, dst.open("wb") as o:
        while chunk := i.read(block):
            data = lz4.block.compress(chunk, store_size=False)
            o.write(b"LZ4Block" + struct.pack("<BiiI", 0x20 | 0x0A, len(data), len(chunk), 0))
            o.write(data)
        o.write(b"LZ4Block" + struct.pack("<BiiI", 0x10 | 0x0A, 0, 0, 0))


def peak_rss(fn: Callable[[], object]) -> tuple[float, float, float, float]:
    """Run ``fn``; return (wall s, CPU s of this process, RSS before, peak RSS during in MB).

    The CPU seconds make the rate comparable on a machine shared with other work.
    """
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak = before
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.02):
            peak = max(peak, proc.memory_info().rss)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    start, cpu_start = time.perf_counter(), time.process_time()
    fn()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    done.set()
    t.join()
    peak = max(peak, proc.memory_info().rss)
    return elapsed, cpu, before / MB, peak / MB


def naive(path: Path) -> int:
    """The reference: decode every line with json.loads, then look at the event."""
    n = 0
    with path.open("rb") as fh:
        for line in fh:
            if json.loads(line)["Event"] == "SparkListenerTaskEnd":
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, default=200, help="size of the big log in MB")
    ap.add_argument("--source", help="a real event log to replicate (default: run PageRank)")
    ap.add_argument("--workdir", help="keep the generated logs here (default: a temp folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        lines = real_log(work, args.source)
        print(f"real log: {len(lines)} events, {sum(map(len, lines)) / 1e3:.0f} kB")
        small, big = work / "small-app", work / "big-app"
        small_bytes = build_log(lines, small, max(args.mb // 4, 1))
        big_bytes = build_log(lines, big, args.mb)
        write_zstd(big, work / "big-app.zstd")
        write_lz4(big, work / "big-app.lz4")
        print(f"generated {big_bytes / MB:.0f} MB (and {small_bytes / MB:.0f} MB) uncompressed")

        results = {}
        for label, path, size in [
            ("uncompressed, 1/4 size", small, small_bytes),
            ("uncompressed", big, big_bytes),
            ("zstd", work / "big-app.zstd", big_bytes),
            ("lz4 (Spark framing)", work / "big-app.lz4", big_bytes),
        ]:
            box: dict[str, object] = {}

            def run(path: Path = path, box: dict[str, object] = box) -> None:
                box["r"] = read_event_log(path, iterations="job-groups")

            secs, cpu, before, peak = peak_rss(run)
            r = box["r"]
            results[label] = (size / MB / secs, peak - before, size / MB / cpu)
            print(
                f"{label:>24}: {size / MB / secs:7.1f} MB/s wall ({size / MB / cpu:6.1f} MB/s "
                f"per CPU s)  {secs:6.2f} s  "
                f"peak RSS +{peak - before:6.1f} MB  iterations {len(r.iterations)}"  # type: ignore[attr-defined]
                f"  corrupt {r.corrupt_lines}"  # type: ignore[attr-defined]
            )
        secs, cpu, before, peak = peak_rss(lambda: naive(small))
        naive_rate, naive_cpu = small_bytes / MB / secs, small_bytes / MB / cpu
        print(
            f"{'naive json.loads, 1/4':>24}: {naive_rate:7.1f} MB/s wall ({naive_cpu:6.1f} MB/s "
            f"per CPU s)  {secs:6.2f} s  peak RSS +{peak - before:6.1f} MB"
        )
        speed, mem_big, speed_cpu = results["uncompressed"]
        mem_small = results["uncompressed, 1/4 size"][1]
        print(
            f"speed-up over naive json.loads: {speed / naive_rate:.1f}x wall, "
            f"{speed_cpu / naive_cpu:.1f}x per CPU s"
        )
        print(
            f"memory growth from 1/4 to full size: {mem_big - mem_small:+.1f} MB "
            f"(log grew by {(big_bytes - small_bytes) / MB:.0f} MB)"
        )
        verdict = "met" if speed >= 50 else "NOT met on wall clock"
        print(
            f"target >= 50 MB/s uncompressed: {verdict} ({speed:.0f} MB/s wall, "
            f"{speed_cpu:.0f} MB/s per CPU s; load average {psutil.getloadavg()[0]:.1f} "
            f"on {psutil.cpu_count()} CPUs)"
        )


if __name__ == "__main__":
    main()
