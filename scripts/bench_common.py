"""Helpers shared by the development benchmark scripts (not part of the package)."""
from __future__ import annotations

import json


def parse_json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        pass
    dec = json.JSONDecoder()  # tolerate log lines around the document
    for i, ch in enumerate(text):
        if ch == "{":
            try:
                return dec.raw_decode(text[i:])[0]
            except ValueError:
                continue
    return None
