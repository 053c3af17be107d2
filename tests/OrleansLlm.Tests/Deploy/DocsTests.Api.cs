using System.Text.RegularExpressions;
using k8s.Models;

namespace OrleansLlm.Tests.Deploy;

/// <summary>docs/kubernetes.md, "The OpenAI Batch API": its commands make files the components read, its overlay renders.</summary>
public sealed partial class DocsTests
{
    private const string ApiHeading = "The OpenAI Batch API";

    [SkippableFact]
    public async Task ApiFiles_TheDocumentedCommandsMakeWhatTheComponentsRead_NeverTheKeyItself()
    {
        // The lines that make the files, run as written, in a directory of their own; then the key they printed.
        var lines = BlocksOf(Walkthrough).Where(b => b.Heading == ApiHeading && b.IsShell)
            .SelectMany(b => b.Text.Split('\n')).Where(l => l.Length > 0 && !l.StartsWith("kubectl ", StringComparison.Ordinal)).ToArray();
        Assert.Contains(lines, l => l.EndsWith("> deploy/secrets/api-keys/api-keys.env", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("> deploy/secrets/api-webhook/api-webhook.env", StringComparison.Ordinal));
        var dir = Directory.CreateTempSubdirectory("orleansllm-api-files-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "deploy", "secrets", "api-keys"));
            Directory.CreateDirectory(Path.Combine(dir, "deploy", "secrets", "api-webhook"));
            var run = await ProcessRunner.RunAsync("bash", ["-euo", "pipefail", "-c", $"cd '{dir}'\n{string.Join('\n', lines)}"]);
            Assert.True(run.ExitCode == 0, run.ToString());
            var key = run.Stdout.Trim();

            // One key's tenant and the hash of the key the user was shown, as the api component's Secret holds them.
            var keys = await File.ReadAllTextAsync(Path.Combine(dir, "deploy", "secrets", "api-keys", "api-keys.env"));
            var match = Regex.Match(keys, @"^Api__Keys__0__Tenant=[A-Za-z0-9._-]{1,64}\nApi__Keys__0__Sha256=(?<hash>[0-9a-f]{64})\n$");
            Assert.True(match.Success, keys);
            Assert.Equal(Kustomize.Sha256Hex(key), match.Groups["hash"].Value);
            Assert.DoesNotContain(key, keys, StringComparison.Ordinal);

            var webhook = await File.ReadAllTextAsync(Path.Combine(dir, "deploy", "secrets", "api-webhook", "api-webhook.env"));
            var secret = Regex.Match(webhook, @"^Webhooks__Secret=whsec_(?<base64>[A-Za-z0-9+/]+=*)\n$");
            Assert.True(secret.Success, webhook);
            Assert.Equal(32, Convert.FromBase64String(secret.Groups["base64"].Value).Length);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public async Task ApiOverlay_TheDocumentedOneServesItsHostOverTls_WithWebhooks()
    {
        var block = Assert.Single(BlocksOf(Walkthrough), b => b.Heading == ApiHeading && b.Language == "yaml");
        var m = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync(block.Text));

        var ingress = Assert.Single(m.All<V1Ingress>());
        var host = Assert.Single(ingress.Spec.Rules).Host;
        Assert.Equal([host], ingress.Spec.Tls.SelectMany(t => t.Hosts));
        Assert.Contains(host, block.Text, StringComparison.Ordinal);
        Assert.Equal("orleansllm-api", Assert.Single(ingress.Spec.Rules.Single().Http.Paths).Backend.Service.Name);
        Assert.Contains(m.SiloContainer.Env, e => e.Name == "Webhooks__Url");
        Assert.Contains(m.SiloContainer.Env, e => e.Name == "Webhooks__Secret");
        Assert.Contains(m.SiloContainer.Ports, p => p.Name == "api");
    }
}
