using System.Text.Json;
using Json.Schema;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Formats;

/// <summary>What the tests of batch options and structured output share: a schema, a submit-and-wait, the requests the simulators saw.</summary>
internal static class BatchRequests
{
    public const string MayorSchema = """
        {"type":"object",
         "properties":{"mayor":{"type":"string"},"confidence":{"type":"number","minimum":0,"maximum":1},"known":{"type":"boolean"}},
         "required":["mayor","confidence","known"]}
        """;

    /// <summary>A second model beside the silos' default, so a batch's own model is told apart.</summary>
    public const string OtherModel = "llama3.2:1b";

    public static SimulatorOptions Simulator(int index, FaultOptions? faults = null) => new()
    {
        Parallel = 2,
        TimeScale = 0.001,
        Models = ["qwen2:1.5b", OtherModel],
        Seed = 1000 + index,
        Faults = faults ?? new FaultOptions(),
    };

    public static async Task<BatchProgress> SubmitAndWaitAsync(LlmCluster cluster, string batchId, BatchSpec spec, IReadOnlyList<BatchItem> items)
    {
        var submitter = new BatchSubmitter(cluster.Client);
        await submitter.SubmitAsync(batchId, spec, items.ToAsyncEnumerable(), CancellationToken.None);
        BatchProgress? last = null;
        await Eventually.TrueAsync(
            async () => (last = await cluster.Client.GetGrain<IBatchGrain>(batchId).GetProgressAsync()).IsComplete,
            $"batch {batchId} to complete",
            describe: async () => $"{last}; {await cluster.DescribeQueueAsync()}");
        return last!;
    }

    /// <summary>Every generate or chat request (Ollama's or OpenAI's) the cluster's simulators recorded, oldest first per simulator.</summary>
    public static IReadOnlyList<RecordedRequest> Requests(LlmCluster cluster) =>
        cluster.Simulators.SelectMany(s => s.GetRequests().Requests).Where(r => r.Path is "/api/generate" or "/api/chat" or "/v1/chat/completions").ToList();

    public static EvaluationResults Validate(string schema, JsonElement instance) =>
        JsonSchema.FromText(schema, baseUri: new Uri($"https://orleansllm.test/{Guid.NewGuid():N}"))
            .Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
}
