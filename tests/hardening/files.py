"""The bad input files of the hardening suite, written into a temporary folder."""

from __future__ import annotations

import gzip
from pathlib import Path

DOOL = """"Dool 1.3.2 CSV output"
"Author:","Scott Baker","","","URL:","https://github.com/scottchiefbaker/dool/"
"Host:","worker-7","","","User:","spark"
"Cmdline:","dool -T --cpu --disk --net --output x.csv 1","","","Date:","22 Nov 2026 01:40:00 UTC"

"epoch","total cpu usage",,,,,"dsk/total",,"net/total",
"epoch","usr","sys","idl","wai","stl","read","writ","recv","send"
EPOCH,10.0,5.0,80.0,5.0,0,1024,2048,100,200
1795311601.0,50.0,10.0,40.0,0,0,0,4096.5,300,400
"""

_TRACE = "execution,iteration,duration_s,scale_out"
_T0, _T5, _T10 = "2026-01-01 00:00:00", "2026-01-01 00:00:05", "2026-01-01 00:00:10"

TEXT: dict[str, str] = {
    "empty.csv": "",
    "header.csv": "a,t\n",
    "fields.csv": "a,t\n1,2\n3\n",
    "underscore.csv": "a,t\n1,368\n2,3_6_8\n",  # float() reads 3_6_8 as 368
    "wide_digits.csv": "a,t\n1,368\n2,\uff14\n",  # a full-width 4
    "good.csv": "a,t\n1,10\n2,20\n",
    "rt_text.csv": "a,t\n1,10\n2,abc\n",
    "rt_neg.csv": "a,t\n1,-5\n",
    "rt_inf.csv": "a,t\n1,inf\n",
    "rt_nan.csv": "a,t\n1,nan\n",
    "so_huge.csv": "a,t,n\n1,10,1e30\n",
    "so_frac.csv": "a,t,n\n1,10,2.5\n",
    "so_zero.csv": "a,t,n\n1,10,0\n",
    "attr_inf.csv": "a,t\n1e400,10\n",
    "attr_empty.csv": "a,t\n,10\n",
    "attr_huge.csv": "a,t\n1e39,10\n",
    "reserved_mt.csv": "n,machine_type,t\n2,a,100\n4,b,60\n",
    "reserved_rt.csv": "n,gross_runtime,t\n2,10,100\n",
    "reserved_src.csv": "source,t\nx,100\n",
    "c3o_reserved.csv": "instance_count,scale_out,gross_runtime\n2,2,10\n",
    "mixed.csv": "a,t\n1,10\n2,10\nabc,10\n3,10\n",
    "colons.csv": "a::t\n1::10\n",
    "long_col.csv": f"{'c' * 5000},t\n1,10\n",
    "nul.csv": "a,t\nx\x00y,10\n",
    "dup_header.csv": "a,a,t\n1,2,3\n",
    "unnamed.csv": "a,,t\n1,2,3\n",
    "multiline.csv": 'a,b,t\n1,"x\ny\nz",10\n2,w,abc\n',
    # a header field past the csv module's field size limit (131072 characters)
    "huge_header.csv": f'"{"h" * 200_000}",t\n1,10\n',
    "other_attrs.csv": "zz,gross_runtime\n1,10\n",
    "mt_empty.csv": "a,t,m\n1,10,\n",
    "mt_long.csv": f"a,t,m\n1,10,{'m' * 150}\n",
    "c3o_nort.csv": "instance_count,data_size_MB,runtime\n2,100,10\n",
    "c3o_huge.csv": "instance_count,data_size_MB,gross_runtime\n1e30,100,10\n",
    "tr_ok.csv": f"{_TRACE}\ne1,0,5,2\ne1,1,6,2\n",
    "tr_order.csv": f"{_TRACE},s,f\ne1,0,5,2,{_T0},{_T5}\ne1,1,5,2,{_T10},{_T5}\n",
    "tr_run_order.csv": f"{_TRACE},rs,rf\ne1,0,5,2,{_T10},{_T0}\n",
    "tr_badtime.csv": f"{_TRACE},s,f\ne1,0,5,2,yesterday,{_T5}\n",
    "tr_dur.csv": f"{_TRACE}\ne1,0,abc,2\n",
    "tr_noexec.csv": "run,iteration,duration_s,scale_out\ne1,0,5,2\n",
    "tr_ctx.csv": f"{_TRACE},size\ne1,0,5,2,10\ne1,1,5,2,20\n",
    "tr_huge.csv": f"{_TRACE}\ne1,0,5,1e30\n",
    "dool.csv": DOOL.replace("EPOCH", "1795311600.0"),
    "dool_huge.csv": DOOL.replace("EPOCH", "1e300"),
}


def write_files(folder: Path) -> None:
    """Write every bad input file into ``folder``."""
    for name, content in TEXT.items():
        (folder / name).write_text(content, encoding="utf-8")
    (folder / "latin1.csv").write_bytes("a,t\n\xe9t\xe9,2\n".encode("latin-1"))
    (folder / "runs.csv.gz").write_bytes(gzip.compress(b"a,t\n1,2\n"))
    (folder / "utf16.csv").write_bytes("a,t\n1,2\n".encode("utf-16"))
    (folder / "book.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(128, 256)))
    (folder / "log.gz").write_bytes(gzip.compress(b'{"Event":"SparkListenerLogStart"}\n'))
    (folder / "log.lz4").write_bytes(b"garbage")
    # an event log whose application start holds a byte that is no UTF-8 (line 2)
    (folder / "app-damaged").write_bytes(
        b'{"Event":"SparkListenerLogStart","Spark Version":"4.0.0"}\n'
        b'{"Event":"SparkListenerApplicationStart","App Name":"p\xff\xfer",'
        b'"App ID":"app-1","Timestamp":1700000000000}\n'
        b'{"Event":"SparkListenerApplicationEnd","Timestamp":1700000001000}\n'
    )
    # a Spark job that completes before its submission (a damaged log)
    (folder / "app-backwards").write_bytes(
        b'{"Event":"SparkListenerApplicationStart","App Name":"p",'
        b'"App ID":"app-2","Timestamp":1700000000000}\n'
        b'{"Event":"SparkListenerJobStart","Job ID":0,"Submission Time":1700000001000,'
        b'"Stage IDs":[0],"Properties":{}}\n'
        b'{"Event":"SparkListenerJobEnd","Job ID":0,"Completion Time":1600000002194,'
        b'"Job Result":{"Result":"JobSucceeded"}}\n'
        b'{"Event":"SparkListenerApplicationEnd","Timestamp":1700000009000}\n'
    )
