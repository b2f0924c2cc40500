/**
 * Keypairs (Nova's {@code os-keypairs}): users' public keys by name, SSH keys or X.509 client
 * certificates, imported after the checks Nova makes or generated here with the private part
 * handed out once; their fingerprints as Nova computes them.
 */
package io.stratus.scheduler.keypairs;
