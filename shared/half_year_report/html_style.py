"""The report page's stylesheet and its Content-Security-Policy: a printed government report (A4), fonts the
reader's machine has (no web fonts: the policy would refuse them), nothing fetched."""

from __future__ import annotations

# The browser refuses anything the page might try to load: scripts, fonts, frames, connections, other styles.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_SERIF = '"FangSong", "STFangsong", "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", "WenQuanYi Zen Hei", serif'
_SANS = '"SimHei", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "WenQuanYi Zen Hei", sans-serif'

STYLE = f"""
html {{ background: #e9e6df; }}
body {{ margin: 0; color: #1a1a1a; font-family: {_SERIF}; font-size: 16px; line-height: 1.9; }}
main {{ max-width: 820px; margin: 24px auto; padding: 48px 64px; background: #fff;
  box-shadow: 0 1px 6px rgba(0, 0, 0, .18); }}
header {{ text-align: center; border-bottom: 3px double #b3110e; padding-bottom: 12px; margin-bottom: 20px; }}
h1 {{ color: #b3110e; font-family: {_SANS}; font-size: 26px; letter-spacing: 2px; margin: 0 0 8px; }}
.meta {{ color: #444; font-size: 14px; margin: 0; }}
h2 {{ font-family: {_SANS}; font-size: 19px; margin: 28px 0 8px; break-after: avoid; }}
p {{ text-indent: 2em; margin: 0 0 10px; text-align: justify; }}
.para-heading {{ font-family: {_SANS}; font-weight: bold; }}
.stated {{ font-weight: bold; color: #0b3d91; border-bottom: 1px solid #9fb3d9; }}
.missing {{ color: #8a4b00; background: #fff4d6; border: 1px dashed #c98a1b; padding: 0 2px; font-size: 14px; }}
.legend {{ text-indent: 0; font-size: 13px; color: #444; background: #f7f7f4; border-left: 3px solid #b3110e;
  padding: 6px 10px; }}
figure {{ margin: 16px 0 24px; break-inside: avoid; }}
figcaption {{ text-align: center; font-family: {_SANS}; font-size: 14px; margin-top: 4px; }}
.chart svg {{ width: 100%; height: auto; display: block; }}
.chart svg text {{ font-family: {_SANS} !important; }}
.nochart {{ text-indent: 0; color: #666; font-size: 14px; }}
table {{ border-collapse: collapse; width: 100%; margin: 8px 0 24px; font-size: 13px; line-height: 1.5;
  break-inside: auto; }}
caption {{ font-family: {_SANS}; font-size: 14px; font-weight: bold; padding: 4px; }}
th, td {{ border: 1px solid #999; padding: 3px 6px; vertical-align: top; }}
th {{ background: #efefef; font-family: {_SANS}; font-weight: normal; }}
tr {{ break-inside: avoid; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.error {{ color: #b3110e; }}
footer {{ margin-top: 32px; border-top: 1px solid #ccc; font-size: 12px; color: #666; }}
@page {{ size: A4; margin: 18mm 16mm; }}
@media print {{
  html {{ background: #fff; }}
  main {{ max-width: none; margin: 0; padding: 0; box-shadow: none; }}
  body {{ font-size: 12pt; }}
}}
"""
