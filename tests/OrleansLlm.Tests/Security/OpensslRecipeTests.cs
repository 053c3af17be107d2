using System.Diagnostics;
using System.Text.RegularExpressions;
using OrleansLlm.Security;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Security;

/// <summary>The README's <c>openssl</c> recipe, run as written, makes certificates that silos and clients accept.</summary>
[Trait("Category", "Process")]
public sealed partial class OpensslRecipeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("orleansllm-recipe-").FullName;

    [SkippableFact]
    public async Task ReadmeRecipe_MakesASilosAndAClientsCertificate_TheClientsCannotServeASilo()
    {
        Skip.If(FindOnPath("openssl") is null, "openssl is not installed");
        var readme = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "README.md"));
        var section = readme[readme.IndexOf("## Securing the cluster", StringComparison.Ordinal)..];
        var recipe = BashBlock().Match(section).Groups["script"].Value;
        output.WriteLine(recipe);

        var run = Process.Start(new ProcessStartInfo("bash", ["-euo", "pipefail", "-c", recipe])
        {
            WorkingDirectory = _directory,
            RedirectStandardError = true,
        })!;
        var stderr = await run.StandardError.ReadToEndAsync();
        await run.WaitForExitAsync();
        Assert.True(run.ExitCode == 0, stderr);

        ClusterTlsOptions Options(string name) => new()
        {
            Enabled = true,
            CertificateFile = Path.Combine(_directory, $"{name}.crt"),
            KeyFile = Path.Combine(_directory, $"{name}.key"),
            CaFile = Path.Combine(_directory, "ca.crt"),
            PeerName = "orleansllm-silo",
            ClientPeerName = "orleansllm-client",
        };

        // The silo's certificate serves a silo; the client's a client, and never a silo.
        var silo = new ClusterTlsOptionsValidator(server: true).Validate(null, Options("silo"));
        Assert.True(silo.Succeeded, silo.FailureMessage);
        var client = new ClusterTlsOptionsValidator(server: false).Validate(null, Options("client"));
        Assert.True(client.Succeeded, client.FailureMessage);
        var clientAsSilo = new ClusterTlsOptionsValidator(server: true).Validate(null, Options("client"));
        Assert.True(clientAsSilo.Failed);
        Assert.Contains("does not allow server authentication", clientAsSilo.FailureMessage, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    [GeneratedRegex("```bash\n(?<script>.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();
}
