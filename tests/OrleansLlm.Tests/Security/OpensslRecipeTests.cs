using System.Diagnostics;
using System.Text.RegularExpressions;
using OrleansLlm.Security;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Security;

/// <summary>The README's <c>openssl</c> recipe, run as written, makes certificates that silos and clients accept.</summary>
public sealed partial class OpensslRecipeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("orleansllm-recipe-").FullName;

    [SkippableFact]
    public async Task ReadmeRecipe_MakesAClusterCertificate_ForSilosAndClients()
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

        var options = new ClusterTlsOptions
        {
            Enabled = true,
            CertificateFile = Path.Combine(_directory, "tls.crt"),
            KeyFile = Path.Combine(_directory, "tls.key"),
            CaFile = Path.Combine(_directory, "ca.crt"),
            PeerName = "orleansllm",
        };
        foreach (var server in new[] { true, false })
        {
            var result = new ClusterTlsOptionsValidator(server).Validate(null, options);
            Assert.True(result.Succeeded, result.FailureMessage);
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);

    [GeneratedRegex("```bash\n(?<script>.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();
}
