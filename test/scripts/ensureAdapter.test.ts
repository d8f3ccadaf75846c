import { describe, expect, it } from 'vitest';
import { adapterAction, isDebian } from '../../scripts/ensureAdapter.js';

describe('ensureAdapter', () => {
  it('installs the CPU driver only as root on Debian, and otherwise explains', () => {
    expect(adapterAction(true, { isRoot: false, isDebian: false })).toBe('none');
    expect(adapterAction(true, { isRoot: true, isDebian: true })).toBe('none');
    expect(adapterAction(false, { isRoot: true, isDebian: true })).toBe('install');
    expect(adapterAction(false, { isRoot: false, isDebian: true })).toBe('explain');
    expect(adapterAction(false, { isRoot: true, isDebian: false })).toBe('explain');
  });

  it('reads Debian, and not its derivatives, from os-release', () => {
    expect(isDebian('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')).toBe(true);
    expect(isDebian('ID=ubuntu\nID_LIKE=debian\n')).toBe(false);
    expect(isDebian('ID="debian"\n')).toBe(true);
    expect(isDebian('ID=fedora\nID_LIKE="rhel centos"\n')).toBe(false);
    expect(isDebian('')).toBe(false);
  });
});
