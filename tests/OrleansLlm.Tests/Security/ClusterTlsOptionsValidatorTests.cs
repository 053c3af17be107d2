using OrleansLlm.Security;

namespace OrleansLlm.Tests.Security;

/// <summary>Every TLS mistake an operator can make is caught at start-up, named by its key, before any handshake.</summary>
[Trait("Category", "Unit")]
public sealed class ClusterTlsOptionsValidatorTests(ClassCertificates shared) : IClassFixture<ClassCertificates>
{
    // Tests read the files and may add files of their own names beside them; none changes the shared ones.
    private readonly TestCertificates _certificates = shared.Certificates;

    [Fact]
    public void Default_IsAnOpenClusterAndValid()
    {
        Assert.True(Validate(new ClusterTlsOptions(), server: true).Succeeded);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheClusterCertificate_IsValid_ForSilosAndClients(bool server)
    {
        var result = Validate(Options(o => o.PeerName = "localhost"), server);

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Enabled_WithoutFiles_NamesEveryMissingKey()
    {
        var failures = Failures(new ClusterTlsOptions { Enabled = true });

        Assert.Equal(3, failures.Count);
        Assert.Contains(failures, f => f.StartsWith("Orleans:Tls:CertificateFile is required", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Orleans:Tls:KeyFile is required", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Orleans:Tls:CaFile is required", StringComparison.Ordinal));
    }

    [Fact]
    public void FilesWithoutEnabled_AreRefused_NotSilentlyIgnored()
    {
        var failure = Assert.Single(Failures(Options(o => o.Enabled = false)));

        Assert.StartsWith("Orleans:Tls:CertificateFile, Orleans:Tls:KeyFile, Orleans:Tls:CaFile are set but Orleans:Tls:Enabled is not true", failure);
    }

    [Fact]
    public void MissingFile_IsNamedWithItsKey()
    {
        var missing = Path.Combine(_certificates.Directory, "nope.key");

        var failure = Assert.Single(Failures(Options(o => o.KeyFile = missing)));

        Assert.Equal($"Orleans:Tls:KeyFile names a file that does not exist: '{missing}'.", failure);
    }

    [Fact]
    public void CertificateOfAnotherCa_IsNotValidUnderTheClustersCa()
    {
        var failure = Assert.Single(Failures(Options(o => (o.CertificateFile, o.KeyFile) = (_certificates.StrangerCertFile, _certificates.StrangerKeyFile))));

        Assert.StartsWith($"Orleans:Tls:CertificateFile '{_certificates.StrangerCertFile}' is not valid under a CA of Orleans:Tls:CaFile", failure);
    }

    [Fact]
    public void KeyOfAnotherCertificate_IsRefused()
    {
        var failure = Assert.Single(Failures(Options(o => o.KeyFile = _certificates.StrangerKeyFile)));

        Assert.Contains("the key does not match the certificate", failure);
    }

    [Fact]
    public void PeerName_TheCertificateDoesNotCarry_IsRefused()
    {
        var failure = Assert.Single(Failures(Options(o => (o.CertificateFile, o.KeyFile, o.PeerName) =
            (_certificates.OtherNameCertFile, _certificates.OtherNameKeyFile, "localhost"))));

        Assert.StartsWith($"Orleans:Tls:CertificateFile '{_certificates.OtherNameCertFile}' does not carry the name Orleans:Tls:PeerName 'localhost'", failure);
    }

    [Fact]
    public void PeerName_ThatIsNotADnsName_IsRefused()
    {
        var failure = Assert.Single(Failures(Options(o => o.PeerName = "not a name")));

        Assert.Equal("Orleans:Tls:PeerName must be a DNS name (was 'not a name').", failure);
    }

    [Fact]
    public void CaFileWithoutCertificates_IsRefused()
    {
        var empty = Path.Combine(_certificates.Directory, "empty.crt");
        File.WriteAllText(empty, "not PEM\n");

        var failure = Assert.Single(Failures(Options(o => o.CaFile = empty)));

        Assert.Equal($"Orleans:Tls:CaFile '{empty}' holds no PEM certificate.", failure);
    }

    [Fact]
    public void ClientsCertificate_ServesAClient_NeverASilo()
    {
        var client = Options(o => (o.CertificateFile, o.KeyFile, o.PeerName, o.ClientPeerName) =
            (_certificates.ClientCertFile, _certificates.ClientKeyFile, TestCertificates.SiloName, TestCertificates.ClientName));

        Assert.True(Validate(client, server: false).Succeeded, Validate(client, server: false).FailureMessage);
        var failures = Failures(client);
        Assert.Contains(failures, f => f.StartsWith($"Orleans:Tls:CertificateFile '{_certificates.ClientCertFile}' does not allow server authentication", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains($"does not carry the name Orleans:Tls:PeerName '{TestCertificates.SiloName}'", StringComparison.Ordinal));
    }

    [Fact]
    public void ClientPeerName_TheClientsCertificateDoesNotCarry_IsRefused()
    {
        var result = Validate(Options(o => o.ClientPeerName = TestCertificates.ClientName), server: false);

        var failure = Assert.Single(result.Failures ?? []);
        Assert.StartsWith($"Orleans:Tls:CertificateFile '{_certificates.CertFile}' does not carry the name Orleans:Tls:ClientPeerName '{TestCertificates.ClientName}'", failure);
    }

    [Fact]
    public void ReloadInterval_NotPositive_IsRefused()
    {
        var failure = Assert.Single(Failures(Options(o => o.ReloadInterval = TimeSpan.Zero)));

        Assert.Equal("Orleans:Tls:ReloadInterval must be positive (was 00:00:00).", failure);
    }

    private ClusterTlsOptions Options(Action<ClusterTlsOptions> change)
    {
        var options = new ClusterTlsOptions
        {
            Enabled = true,
            CertificateFile = _certificates.CertFile,
            KeyFile = _certificates.KeyFile,
            CaFile = _certificates.CaFile,
        };
        change(options);
        return options;
    }

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(ClusterTlsOptions options, bool server) =>
        new ClusterTlsOptionsValidator(server).Validate(null, options);

    private static List<string> Failures(ClusterTlsOptions options) => [.. Validate(options, server: true).Failures ?? []];
}
