using System.Text;
using StackExchange.Redis;

namespace OrleansLlm.Webhooks;

/// <summary>
/// One Lua script of the webhook outbox: its file (an embedded resource under <c>Webhooks/Scripts/</c>), run after
/// <c>include.lua</c>, whose helpers every script reads as its own locals.
/// </summary>
internal sealed class WebhookScript
{
    private const string ResourcePrefix = "OrleansLlm.Webhooks.Scripts/";

    private WebhookScript(string name, string text)
    {
        Name = name;
        Text = text;
    }

    public static WebhookScript Publish { get; } = Load("publish.lua");

    public static WebhookScript Lease { get; } = Load("lease.lua");

    public static WebhookScript Delivered { get; } = Load("delivered.lua");

    public static WebhookScript Retry { get; } = Load("retry.lua");

    /// <summary>The script's file, e.g. <c>lease.lua</c>.</summary>
    public string Name { get; }

    /// <summary>What Redis runs: <c>include.lua</c>, then the script.</summary>
    public string Text { get; }

    public Task<RedisResult> EvaluateAsync(IDatabaseAsync db, RedisKey[] keys, RedisValue[] values) => db.ScriptEvaluateAsync(Text, keys, values);

    private static WebhookScript Load(string file) => new(file, Read("include.lua").TrimEnd('\n') + "\n" + Read(file));

    private static string Read(string file)
    {
        var name = ResourcePrefix + file;
        using var stream = typeof(WebhookScript).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The webhook script {name} is not embedded in {typeof(WebhookScript).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
    }
}
