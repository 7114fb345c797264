"""Trigger plugins, registered by binding type (``timerTrigger``, later ``serviceBusTrigger``...)."""
