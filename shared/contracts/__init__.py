"""The typed contracts between services: every RPC operation declared once, and every event.

    from shared.contracts import community as c
    c.WORKS_GET            # Operation: service, name, request and response models, problems, deadline
    shared.contracts.events  # the event registry and catalog (subject -> payload model)

Services register handlers against these declarations (`RpcServer.serve`); callers use
`shared.messaging.rpc.call(nc, c.WORKS_GET, ...)`. Nothing here imports `services/`.
"""
