"""`__in` on integer columns that drops values the database cannot hold.

Django already turns an out-of-range `exact`, `gt`, `lt`... on an integer field
into "no row" (IntegerFieldOverflow); `in` it passes to the database, where
SQLite raises OverflowError and PostgreSQL an out-of-range error. A hostile id
typed into a form's multiple choice (areas, lots) was a 500. Such a value can
match no row, so it is dropped, exactly as `exact` does with it.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import IntegerField
from django.db.models.lookups import In


class IntegerFieldIn(In):
    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(self.lhs.output_field.get_internal_type())
            kept = [
                value
                for value in self.rhs
                if not isinstance(value, int) or ((low is None or value >= low) and (high is None or value <= high))
            ]
            if not kept:
                raise EmptyResultSet
            self.rhs = kept
        return super().process_rhs(compiler, connection)


def register() -> None:
    IntegerField.register_lookup(IntegerFieldIn)
