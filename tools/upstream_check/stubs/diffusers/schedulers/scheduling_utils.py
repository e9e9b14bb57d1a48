class SchedulerMixin:  # STUB: no behaviour needed
    pass
