using System.Globalization;
using System.Text.RegularExpressions;
using OrleansLlm.Options;
using OrleansLlm.Queue;

namespace OrleansLlm.Tests.Deploy;

public sealed partial class ManifestTests
{
    private const string ShardsHeading = "Queue shards";

    /// <summary>
    /// docs/kubernetes.md's overlay for <c>Queue__Shards</c> 3, applied as written: KEDA counts every key of every
    /// partition and adds them up in one formula, and KEDA's Redis user may read exactly those keys.
    /// </summary>
    [SkippableFact]
    public async Task QueueShards_TheDocumentedOverlayScalesOnEveryPartitionsKeys_Summed()
    {
        var blocks = FencedBlock.Of(await File.ReadAllTextAsync(Path.Combine(Kustomize.RepoRoot, "docs", "kubernetes.md"))).Where(b => b.Heading == ShardsHeading).ToArray();
        var patch = Assert.Single(blocks, b => b.Language == "yaml" && b.Text.Contains("kind: ScaledObject", StringComparison.Ordinal));
        var overlay = Assert.Single(blocks, b => b.Language == "yaml" && !b.Text.Contains("kind: ScaledObject", StringComparison.Ordinal));
        var file = Regex.Match(patch.Text, @"deploy/overlays/mine/(\S+):").Groups[1].Value;
        var m = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync(overlay.Text, new Dictionary<string, string> { [file] = patch.Text }));

        var queue = Bind<QueueOptions>(SiloConfiguration(m), QueueOptions.Section);
        Assert.Equal(3, queue.Shards);
        var keys = new QueueShards(Microsoft.Extensions.Options.Options.Create(queue)).Keys.SelectMany(k => k.Outstanding).Order().ToArray();
        var scaled = m.Single<ScaledObject>("orleansllm-silo");
        Assert.Equal(keys, scaled.Spec.Triggers.Select(t => t.Metadata["listName"]).Order());

        var modifiers = scaled.Spec.Advanced!.ScalingModifiers!;
        Assert.Equal(scaled.Spec.Triggers.Select(t => t.Name!).Order(), Identifier().Matches(modifiers.Formula!).Select(x => x.Value).Order());
        Assert.Equal(string.Empty, Identifier().Replace(modifiers.Formula!, "").Replace("+", "", StringComparison.Ordinal).Trim());
        Assert.All(scaled.Spec.Triggers, t => Assert.Equal(double.Parse(modifiers.Target!, CultureInfo.InvariantCulture), double.Parse(t.Metadata["listLength"], CultureInfo.InvariantCulture)));
        // The rest of the ScaledObject (its authentication, scale-down behaviour) is the base's.
        Assert.All(scaled.Spec.Triggers, t => Assert.Equal("orleansllm-redis", t.AuthenticationRef!.Name));
        Assert.NotNull(scaled.Spec.Advanced.HorizontalPodAutoscalerConfig?.Behavior?.ScaleDown);

        var keda = Assert.Single(blocks, b => b.Language == "text").Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(keys, keda.Where(w => w.StartsWith("%R~", StringComparison.Ordinal)).Select(w => w[3..]).Order());
    }
}
