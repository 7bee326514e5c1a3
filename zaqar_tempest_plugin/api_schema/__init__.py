"""JSON schemas of the v2 API responses, one module per resource.

Each schema is a dict for ``RestClient.validate_response``: the expected
``status_code`` list, and ``response_body`` (absent when the response must
have no body) and ``response_header`` where they matter.
"""
