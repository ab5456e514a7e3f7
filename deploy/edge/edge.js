// The edge's njs: the api address nginx proxies to, read per request from the file the deploy renames into place:
// switching releases takes effect on the next request, with no reload, so no client connection is ever closed.
const fs = require('fs')

const LIVE = '/etc/edge/upstream/live'
// A container or service name and a port, nothing else: the value goes straight into proxy_pass.
const ADDRESS = /^[A-Za-z0-9][A-Za-z0-9_.-]*:[0-9]{1,5}$/
// Without a file (a manual `compose up`, a swarm), the compose service name: Docker DNS finds its containers.
const FALLBACK = 'api:3000'

function upstream() {
  try {
    const address = fs.readFileSync(LIVE, 'utf8').trim()
    return ADDRESS.test(address) ? address : FALLBACK
  } catch (_) {
    return FALLBACK
  }
}

// What the proxy uses right now, for the deploy to ask instead of trusting the file it wrote.
function show(r) {
  r.return(200, `${upstream()}\n`)
}

export default { upstream, show }
