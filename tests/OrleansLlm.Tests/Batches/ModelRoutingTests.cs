using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Batches;

/// <summary>A silo serves only the models its Ollama has; a batch of a model no silo has waits, visibly, and is never dead-lettered.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class ModelRoutingTests(RedisServer redis, ITestOutputHelper output)
{
    private const string OtherModel = "llama3.2:1b";

    // An OpenAI-compatible server names its models by Hugging Face ids, without Ollama's tags.
    [Theory]
    [InlineData(SimulatorApi.Ollama, "qwen2:1.5b", OtherModel)]
    [InlineData(SimulatorApi.OpenAI, "Qwen/Qwen2-1.5B-Instruct", "meta-llama/Llama-3.2-1B-Instruct")]
    public async Task BatchOfAModelOneSiloHas_IsServedByThatSiloOnly(SimulatorApi api, string model, string otherModel)
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Api = api;
            o.Simulator = i => new SimulatorOptions { Parallel = 2, TimeScale = 0.001, Models = i == 1 ? [model, otherModel] : [model] };
            o.Settings["Worker:ModelRefreshInterval"] = "00:00:00.200";
        });
        var submitter = new BatchSubmitter(cluster.Client);
        var items = await Cities.LoadAsync(40);

        await submitter.SubmitAsync("other-model", new BatchSpec(null, null, Model: otherModel), items.Take(20).ToAsyncEnumerable(), CancellationToken.None);
        await submitter.SubmitAsync("default-model", new BatchSpec(null, null), items.Skip(20).ToAsyncEnumerable(), CancellationToken.None);
        await submitter.WaitAsync("other-model", TimeSpan.FromMilliseconds(50), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);
        await submitter.WaitAsync("default-model", TimeSpan.FromMilliseconds(50), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);

        var silos = (await cluster.ResultsAsync("other-model")).Values.Select(r => r.GetProperty("meta").GetProperty("silo").GetString()).ToArray();
        Assert.Equal(20, silos.Length);
        // Silos take their simulators in the order they are configured, which need not be their order in the cluster.
        var serving = cluster.Cluster.Silos.Single(s => cluster.SimulatorOf(s) == cluster.Simulators[1]);
        Assert.All(silos, s => Assert.Equal(cluster.OwnerOf(serving), s));
        Assert.DoesNotContain(cluster.Simulators[0].GetRequests().Requests, r => r.Model == otherModel);
        // Each server was asked for the model by its own name.
        Assert.All(cluster.Simulators[1].GetRequests().Requests, r => Assert.Contains(r.Model, new[] { model, otherModel }));
        Assert.Empty(await cluster.DeadLettersAsync());
    }

    [Fact]
    public async Task BatchOfAModelNoSiloHas_WaitsVisibly_AndRunsOnceASiloHasIt()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Silos = 1;
            o.Settings["Worker:ModelRefreshInterval"] = "00:00:00.200";
        });
        var submitter = new BatchSubmitter(cluster.Client);
        var items = await Cities.LoadAsync(10);
        var waiting = cluster.Client.GetGrain<IBatchGrain>("waiting");

        await submitter.SubmitAsync("waiting", new BatchSpec(null, null, Model: OtherModel), items.Take(5).ToAsyncEnumerable(), CancellationToken.None);
        await submitter.SubmitAsync("served", new BatchSpec(null, null), items.Skip(5).ToAsyncEnumerable(), CancellationToken.None);
        await submitter.WaitAsync("served", TimeSpan.FromMilliseconds(50), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);

        BatchProgress progress = null!;
        await Eventually.TrueAsync(async () => (progress = await waiting.GetProgressAsync()).WaitingForModel is not null, "the batch to say what it waits for");
        output.WriteLine(progress.ToString());
        Assert.Equal((OtherModel, 5L, 0L, 0L, BatchStates.InProgress), (progress.WaitingForModel, progress.Queued, progress.DeadLettered, progress.InFlight, progress.Status));
        Assert.Empty(await cluster.DeadLettersAsync());
        Assert.Equal(5, await cluster.Db.SortedSetLengthAsync(cluster.Keys.Parked(OtherModel)));

        cluster.Simulators[0].PullModel(OtherModel);

        var final = await submitter.WaitAsync("waiting", TimeSpan.FromMilliseconds(50), _ => { }, new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token);
        Assert.Equal((5L, 0L, null), (final.Done, final.DeadLettered, final.WaitingForModel));
        Assert.Equal(0, await cluster.Db.SortedSetLengthAsync(cluster.Keys.Parked(OtherModel)));
    }
}
