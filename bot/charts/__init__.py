"""PNG charts for managers (matplotlib, Agg backend): readable on a phone, colour-blind safe.

Every chart is 1000 px wide (10 × 6 in at 100 dpi), with large fonts, the Okabe-Ito palette,
and month names and numbers localized with Babel. Labels come translated from the caller.
"""
