"""The orders service: the order API, the order saga and the order event stream."""
