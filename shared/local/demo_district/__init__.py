"""The demo district (`poverty demo`, `poverty up --demo district`): a synthetic district shaped on the district's
2020 first-half report — 3,452 households in the report's five townships and what the half year brought them —
built through the services' public APIs and the households import, so that each service's `GET /v1/report` for
2020-01-01 .. 2020-06-30 gives the report's figures.

`population` (who lives there and what happens to them), `households` (the import and the half year's facts),
`subsidies` (the programmes paid), `projects` (projects, posts, payroll, 双提升 plan), `findings` (audit's findings
rectified), `build` (all of it, in order), `command` (the command line); `calls` and `clock` are how it calls the
services (concurrently; an app in this process with the request clock moved, as `demo_subsidies` does).
"""
