namespace OrleansLlm.Tests.Security;

/// <summary>
/// One set of <see cref="TestCertificates"/> for a whole test class that only reads them: seven RSA keys take a second
/// or more to make, so making them for every test made the validator's tests the slowest of the fast loop.
/// </summary>
public sealed class ClassCertificates : IDisposable
{
    public TestCertificates Certificates { get; } = TestCertificates.Create();

    public void Dispose() => Certificates.Dispose();
}
