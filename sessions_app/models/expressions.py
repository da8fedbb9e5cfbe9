"""Query expressions the models and views share."""

from django.db.models import IntegerField, QuerySet, Subquery


class SubqueryCount(Subquery):
    """How many rows a correlated queryset has, as a scalar subquery: 0 when
    none. Counting this way adds no join and no GROUP BY to the outer query,
    which keeps a page's main query cheap to plan and its rows one per object."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"
    output_field = IntegerField()

    def __init__(self, queryset: QuerySet, **extra):
        super().__init__(queryset.order_by().values("pk"), **extra)
