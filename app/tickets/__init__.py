"""Tickets (案件): report, route, and move through the lifecycle.

By job: `workflow` (the status table, pure), `door` (the only writer of a status: `transition`,
`open_ticket`), `access` (who may see and act), `intake` (new tickets, idempotency),
`actions` (the verbs on a ticket), `queries` (read models, lists, the map), `deadlines`
(time limits in working time), `notices` (what people are told), `jobs` (periodic work).
"""
