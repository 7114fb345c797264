"""HTTP helpers shared by the services' function apps, free of any web framework.

`problems` builds RFC 9457 problem details; each service turns them into its own response type.
"""

from eventkit.http.problems import PROBLEM_CONTENT_TYPE, ExtensionClash, ProblemDetails

__all__ = ["PROBLEM_CONTENT_TYPE", "ExtensionClash", "ProblemDetails"]
