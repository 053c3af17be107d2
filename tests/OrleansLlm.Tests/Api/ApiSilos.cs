using System.ClientModel;
using System.Security.Cryptography;
using System.Text;
using OllamaSim;
using OpenAI;
using OpenAI.Files;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Api;

/// <summary>
/// Two real silo processes serving the OpenAI Batch API, each beside its own fast simulator, on a Redis of their own,
/// with a key for each of two tenants: what the official SDKs are pointed at.
/// </summary>
public sealed class ApiSilos : IAsyncLifetime
{
    /// <summary>Small, so a file over the limit is quick to send.</summary>
    public const long MaxFileBytes = 1024 * 1024;

    public const string Model = "qwen2:1.5b";

    /// <summary>The simulators answer 500 to every prompt with this in it.</summary>
    public const string FailingPrompt = "Atlantis";

    private RedisProcess _redis = null!;
    private ProcessReplicaSet _silos = null!;

    public string AlphaKey { get; } = NewKey();

    public string BetaKey { get; } = NewKey();

    /// <summary>Where the silos send their webhooks: a receiver a test starts there (the TypeScript SDK's script).</summary>
    public int WebhookPort { get; } = FreePorts.Next();

    /// <summary>The Standard Webhooks secret the silos sign with: <c>whsec_</c> and 32 random bytes in base64.</summary>
    public string WebhookSecret { get; } = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public IReadOnlyList<SiloProcess> Silos => _silos.Running;

    public string Queue { get; } = LlmClusterOptions.NewQueueName();

    /// <summary>What the CLI, an Orleans client, is given to reach these silos.</summary>
    public IReadOnlyDictionary<string, string> CliEnvironment => new Dictionary<string, string>
    {
        ["Redis__ConnectionString"] = _redis.ConnectionString,
        ["Orleans__ClusterId"] = Queue,
    };

    public TimeSpan StartTime { get; private set; }

    public async Task InitializeAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        _redis = await RedisProcess.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = _redis.ConnectionString,
            ["Orleans:ClusterId"] = Queue,
            ["Queue:Name"] = Queue,
            ["Worker:AdaptiveConcurrency"] = "false",
            ["Worker:MaxConcurrency"] = "16",
            ["Api:Keys:0:Tenant"] = "alpha",
            ["Api:Keys:0:Sha256"] = Sha256(AlphaKey),
            ["Api:Keys:1:Tenant"] = "beta",
            ["Api:Keys:1:Sha256"] = Sha256(BetaKey),
            ["Api:MaxFileBytes"] = MaxFileBytes.ToString(),
            ["Api:SweepInterval"] = "00:00:01",
            // Nothing listens there until a test starts its receiver: until then deliveries fail and are retried,
            // a few seconds apart at most, so an event is received soon after the receiver is up.
            ["Webhooks:Url"] = $"http://127.0.0.1:{WebhookPort}/",
            ["Webhooks:Secret"] = WebhookSecret,
            ["Webhooks:FirstRetryDelay"] = "00:00:00.500",
            ["Webhooks:MaxRetryDelay"] = "00:00:02",
            // A request that fails is dead-lettered after two quick tries: the error file and retry are seen in seconds.
            ["Queue:MaxAttempts"] = "2",
            ["Queue:RetryBaseDelay"] = "00:00:00.100",
        };
        _silos = new ProcessReplicaSet(
            () => new SimulatorOptions { Parallel = 16, TimeScale = 0.002, Faults = new FaultOptions { FailPromptContains = FailingPrompt } },
            settings);
        await Task.WhenAll(_silos.ScaleUpAsync(), _silos.ScaleUpAsync());
        StartTime = clock.Elapsed;
    }

    public async Task DisposeAsync()
    {
        await _silos.DisposeAsync();
        await _redis.DisposeAsync();
    }

    public Uri Endpoint(int silo) => new($"http://127.0.0.1:{Silos[silo].ApiPort}/v1");

    public OpenAIClientOptions Options(int silo) => new() { Endpoint = Endpoint(silo) };

    /// <summary>The SDK's own client, given nothing but this silo's endpoint and a key.</summary>
    public OpenAIClient Client(int silo, string key) => new(new ApiKeyCredential(key), Options(silo));

    public OpenAIFileClient Files(int silo, string key) => Client(silo, key).GetOpenAIFileClient();

#pragma warning disable OPENAI001 // The SDK marks its batch client experimental.
    public OpenAI.Batch.BatchClient Batches(int silo, string key) => Client(silo, key).GetBatchClient();
#pragma warning restore OPENAI001

    /// <summary>An OpenAI batch input file of chat requests, one per city, each with the custom_id <c>PREFIX-LINE</c>.</summary>
    public static async Task<(byte[] File, IReadOnlyList<string> Ids)> InputFileAsync(string prefix, int count)
    {
        var text = new StringBuilder();
        var ids = new List<string>();
        foreach (var city in await Cities.LoadAsync(count))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(city.Json);
            // By line, not the city's id: the data set has cities that share one.
            var id = $"{prefix}-{ids.Count + 1}";
            ids.Add(id);
            var line = new System.Text.Json.Nodes.JsonObject
            {
                ["custom_id"] = id,
                ["method"] = "POST",
                ["url"] = "/v1/chat/completions",
                ["body"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["model"] = Model,
                    ["messages"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
                    {
                        ["role"] = "user",
                        ["content"] = $"Describe {Cities.Name(doc.RootElement)} in one sentence.",
                    }),
                },
            };
            text.Append(line.ToJsonString()).Append('\n');
        }

        return (Encoding.UTF8.GetBytes(text.ToString()), ids);
    }

    private static string NewKey() => $"sk-test-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}";

    public static string Sha256(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
