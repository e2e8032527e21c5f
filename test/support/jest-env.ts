// Every test process (and the CLI processes tests spawn) loads the three shipped connectors only: the
// new-connector suite generates and removes a connector under connectors/ while other suites boot the app, and an
// app must not pick up a plug-in being removed under it. Suites that test discovery pass their own list.
process.env.SYNCLINE_CONNECTORS ??= 'salesforce,hubspot,sendgrid';
