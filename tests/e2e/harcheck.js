// harcheck.js FILE: validates FILE against the HAR 1.2 JSON schema with
// har-validator (Debian node-har-validator), a real HAR consumer; prints
// the entry count, exits 1 with the schema errors when it is not valid.
const v = require('har-validator');
const fs = require('fs');
const har = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
v.har(har)
  .then(() => console.log('valid HAR 1.2: ' + har.log.entries.length + ' entries'))
  .catch(e => { console.error('invalid HAR: ' + JSON.stringify(e.errors || e.message)); process.exit(1); });
