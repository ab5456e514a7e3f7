// The tests' name for it; the module generator uses it too, so it lives in src/.
export { freePort } from '../src/ports'
