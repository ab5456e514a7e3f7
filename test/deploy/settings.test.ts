import { describe, expect, it } from 'vitest'
import defaults from '../../deploy/config.mjs'
import { settingsFrom } from '../../scripts/deploy/settings.mjs'

const problemsOf = (env: Record<string, string>, flags = {}) => {
  try {
    settingsFrom(defaults, env, flags)
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

describe('deploy settings', () => {
  it('take the committed defaults, then DEPLOY_* variables, then flags', () => {
    const settings = settingsFrom(
      defaults,
      { DEPLOY_HOST: 'deploy@a', DEPLOY_KEEP_RELEASES: '4' },
      { host: 'deploy@b' },
    )
    expect(settings).toMatchObject({ host: 'deploy@b', keepReleases: 4 })
  })

  it('refuse values that would be injected into ssh or the server-side script, naming the variable', () => {
    expect(problemsOf({ DEPLOY_HOST: '-oProxyCommand=touch /tmp/x' })).toContain('DEPLOY_HOST')
    expect(problemsOf({}, { host: '-F/dev/null' })).toContain('DEPLOY_HOST')
    expect(problemsOf({ DEPLOY_PROXY_BIND: '$(id)' })).toContain('DEPLOY_PROXY_BIND')
    expect(problemsOf({ DEPLOY_PROXY_BIND: '127.0.0.1', DEPLOY_HOST: 'deploy@app.example.com' })).toBe('')
  })

  it('refuse a DEPLOY_HEALTH_RESOLVE that health.mjs would refuse only after the switch', () => {
    expect(problemsOf({ DEPLOY_HEALTH_RESOLVE: 'app.example.com=127.0.0.1' })).toContain(
      'DEPLOY_HEALTH_RESOLVE',
    )
    expect(problemsOf({ DEPLOY_HEALTH_RESOLVE: 'app.example.com:127.0.0.1' })).toBe('')
    expect(problemsOf({ DEPLOY_HEALTH_RESOLVE: 'app.example.com:[::1]' })).toBe('')
  })

  it('refuse a narrower proxy bind in swarm mode, which would publish on every address anyway', () => {
    expect(problemsOf({ DEPLOY_MODE: 'swarm', DEPLOY_PROXY_BIND: '127.0.0.1' })).toContain(
      'swarm mode publishes on every address of the node and cannot bind 127.0.0.1',
    )
    expect(problemsOf({ DEPLOY_MODE: 'swarm', DEPLOY_PROXY_BIND: '0.0.0.0' })).toBe('')
    expect(problemsOf({ DEPLOY_MODE: 'compose', DEPLOY_PROXY_BIND: '127.0.0.1' })).toBe('')
  })

  it('name each domain once, however often it is given: the edge refuses a name listed twice', () => {
    const env = {
      DEPLOY_DOMAIN: 'app.example.com, App.example.com www.app.example.com',
      DEPLOY_ACME_EMAIL: 'ops@example.com',
    }
    expect(settingsFrom(defaults, env).domains).toEqual(['app.example.com', 'www.app.example.com'])
  })

  it("refuse a directory or image compose's .env, the stack file or docker would read differently", () => {
    for (const dir of ['/srv/$(id)', "/srv/it's", '/srv/a"b', '/srv/x #y', '/srv/a\nB=1', '/srv/`id`'])
      expect(problemsOf({ DEPLOY_DIR: dir })).toContain('DEPLOY_DIR')
    expect(problemsOf({ DEPLOY_DIR: '/srv/my app, v2/bakehouse_1' })).toBe('')
    expect(problemsOf({ DEPLOY_IMAGE: "api'$(id)" })).toContain('DEPLOY_IMAGE')
    expect(problemsOf({ DEPLOY_REGISTRY: 'ghcr.io/team;id' })).toContain('DEPLOY_REGISTRY')
    expect(problemsOf({ DEPLOY_IMAGE: 'team/api-server', DEPLOY_REGISTRY: 'registry.local:5000/team' })).toBe(
      '',
    )
  })

  it('list every bad setting at once', () => {
    const message = problemsOf({ DEPLOY_MODE: 'k8s', DEPLOY_DIR: 'relative', DEPLOY_KEEP_RELEASES: '1' })
    for (const variable of ['DEPLOY_MODE', 'DEPLOY_DIR', 'DEPLOY_KEEP_RELEASES'])
      expect(message).toContain(variable)
  })
})
