"""Checks that an OpenAPI document (JSON on stdin) is valid OpenAPI 3.1: the structure the
specification's schema requires, and every $ref pointing somewhere (openapi-spec-validator).
Prints each problem and exits 1 when there is any; used by the integration suite
(issue 19, finding 12)."""

import json
import sys

from openapi_spec_validator import OpenAPIV31SpecValidator


def main() -> int:
    document = json.load(sys.stdin)
    if not str(document.get("openapi", "")).startswith("3.1"):
        print(f"not an OpenAPI 3.1 document: openapi = {document.get('openapi')!r}")
        return 1
    try:
        problems = [str(e).splitlines()[0] for e in OpenAPIV31SpecValidator(document).iter_errors()]
    except Exception as e:  # an unresolvable $ref stops the validator itself
        problems = [f"{type(e).__name__}: {str(e)[:300]}"]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
