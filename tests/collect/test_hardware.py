from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from jobcast.collect import (
    HARDWARE_COLUMNS,
    HardwareSample,
    HardwareSampler,
    hardware_frame,
    read_dool,
    run_agent,
)
from jobcast.errors import ImportFormatError, InputError
from tests.collect.recording_server import recording_server
from tests.hardening.files import TEXT


def test_sampler_measures_rates() -> None:
    sampler = HardwareSampler(interval_s=0.05)
    sink = bytearray()
    for _ in range(200_000):  # some cpu work so the first interval is not idle
        sink.extend(b"x")
    samples = sampler.run(count=3)
    assert len(samples) == 3
    for s in samples:
        assert 0 <= s.cpu <= 100 and s.timestamp.tzinfo is not None
        assert min(s.disk_read, s.disk_write, s.net_rx, s.net_tx) >= 0
    assert samples[0].timestamp <= samples[1].timestamp <= samples[2].timestamp
    frame = hardware_frame(samples, node="n1", execution="app-1")
    assert list(frame.columns) == list(HARDWARE_COLUMNS)
    assert (frame["node"] == "n1").all() and str(frame["timestamp"].dt.tz) == "UTC"


def test_sampler_stops_on_event() -> None:
    stop = threading.Event()
    got: list[HardwareSample] = []

    def on_sample(s: HardwareSample) -> None:
        got.append(s)
        if len(got) == 2:
            stop.set()

    assert HardwareSampler(interval_s=0.02).run(stop=stop, callback=on_sample) == []
    assert len(got) == 2
    with pytest.raises(InputError):
        HardwareSampler(interval_s=0)
    with pytest.raises(InputError):
        HardwareSampler().run()


def test_sample_validation() -> None:
    now = datetime.now(UTC)
    with pytest.raises(InputError):
        HardwareSample(now, 150.0, 0, 0, 0, 0)
    with pytest.raises(InputError):
        HardwareSample(now, 10.0, -1, 0, 0, 0)
    with pytest.raises(InputError):
        HardwareSample(datetime(2026, 1, 1), 10.0, 0, 0, 0, 0)


def test_agent_sends_batches() -> None:
    with recording_server() as (url, store):
        n = run_agent(url, interval_s=0.02, batch=2, count=5, node="worker-1", execution="e1")
    assert (n.taken, n.delivered, n.stored, n.problem) == (5, 5, None, None)
    batches = store["hardware"]
    assert [len(b["samples"]) for b in batches] == [2, 2, 1]
    assert {b["node"] for b in batches} == {"worker-1"}
    assert {b["execution"] for b in batches} == {"e1"}


DOOL = TEXT["dool.csv"]

DSTAT = """"Dstat 0.7.4 CSV output"
"Author:","Dag Wieers <dag@wieers.com>",,,,"URL:","http://dag.wieers.com/home-made/dstat/"
"Host:","node-a",,,,"User:","root"
"Cmdline:","dstat -tcdn --output out.csv",,,,"Date:","22 Nov 2026 01:40:00 UTC"

"system","total cpu usage",,,,,,"dsk/sda",,"dsk/sdb",,"net/eth0",,"net/eth1",
"time","usr","sys","idl","wai","hiq","siq","read","writ","read","writ","recv","send","recv","send"
"22-11 01:40:01",1.0,1.0,97.0,1.0,0,0,10,20,1,2,5,6,7,8
"22-11 01:40:02",2.0,1.0,96.0,1.0,0,0,10,20,1,2,5,6,7,8
"22-11 01:40:03",2.0,1.0,96"""


def test_read_dool_epoch(tmp_path: Path) -> None:
    path = tmp_path / "dool.csv"
    path.write_text(DOOL)
    frame = read_dool(path, execution="app-9")
    assert list(frame.columns) == list(HARDWARE_COLUMNS)
    assert frame["node"].tolist() == ["worker-7", "worker-7"]
    assert frame["cpu"].tolist() == [20.0, 60.0]
    assert frame["disk_read"].tolist() == [1024.0, 0.0]
    assert frame["disk_write"].tolist() == [2048.0, 4096.5]
    assert frame["net_rx"].tolist() == [100.0, 300.0]
    assert frame["net_tx"].tolist() == [200.0, 400.0]
    assert frame["timestamp"].iloc[0] == pd.Timestamp(1795311600, unit="s", tz="UTC")
    assert (frame["execution"] == "app-9").all()


def test_read_dstat_devices_and_cut_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "dstat.csv"
    path.write_text(DSTAT)
    frame = read_dool(path, node="override")
    assert len(frame) == 2 and "cut short" in caplog.text
    assert frame["disk_read"].tolist() == [11.0, 11.0]  # summed over sda and sdb
    assert frame["net_tx"].tolist() == [14.0, 14.0]
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2026-11-22 01:40:01", tz="UTC")
    assert frame["node"].iloc[0] == "override"


def test_read_dool_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ImportFormatError, match=r"bad\.csv.*no dool/dstat header"):
        read_dool(bad)
    value = tmp_path / "value.csv"
    value.write_text(DOOL.replace("1024,2048", "1024,lots"))
    with pytest.raises(ImportFormatError, match=r"value\.csv, line 8, column 'writ'.*lots"):
        read_dool(value)
    negative = tmp_path / "neg.csv"
    negative.write_text(DOOL.replace("100,200", "-100,200"))
    with pytest.raises(ImportFormatError, match="line 8.*>= 0"):
        read_dool(negative)
    nocpu = tmp_path / "nocpu.csv"
    nocpu.write_text(DOOL.replace('"total cpu usage"', '"load avg"'))
    with pytest.raises(ImportFormatError, match="--cpu"):
        read_dool(nocpu)
    short = tmp_path / "short.csv"
    short.write_text(
        DOOL.replace("1795311600.0,10.0,5.0,80.0,5.0,0,1024,2048,100,200", "1795311600.0,10.0,5.0")
    )
    with pytest.raises(ImportFormatError, match="line 8.*fields"):
        read_dool(short)
    with pytest.raises(ImportFormatError, match="cannot read"):
        read_dool(tmp_path / "missing.csv")
