using OrleansLlm.Webhooks;

namespace OrleansLlm.Tests.Webhooks;

/// <summary>What <see cref="WebhookOptionsValidator"/> refuses, one setting per line, and the retry schedule it guards.</summary>
[Trait("Category", "Unit")]
public sealed class WebhookOptionsValidatorTests
{
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    public static TheoryData<string, Action<WebhookOptions>> Refusals => new()
    {
        { "Url", o => o.Url = "/hooks" },
        { "Url", o => o.Url = "ftp://hooks.example.com/x" },
        { "Secret", o => o.Secret = null },
        { "Secret", o => o.Secret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
        { "Secret", o => o.Secret = "whsec_not base64!" },
        { "Secret", o => o.Secret = "whsec_c2hvcnQ=" },
        { "FirstRetryDelay", o => o.FirstRetryDelay = TimeSpan.Zero },
        { "FirstRetryDelay", o => o.MaxRetryDelay = o.FirstRetryDelay / 2 },
        { "MaxAge", o => o.MaxAge = o.FirstRetryDelay / 2 },
        { "RequestTimeout", o => o.RequestTimeout = TimeSpan.Zero },
        { "LeaseDuration", o => o.LeaseDuration = o.RequestTimeout },
        { "PollInterval", o => o.PollInterval = TimeSpan.Zero },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Validate_RefusesABadSetting_NamingIt_AndNeverTheSecret(string setting, Action<WebhookOptions> spoil)
    {
        var options = new WebhookOptions { Url = "https://hooks.example.com/batches", Secret = Secret };
        spoil(options);

        var result = new WebhookOptionsValidator().Validate(null, options);

        var failure = Assert.Single(result.Failures ?? []);
        Assert.Contains($"Webhooks:{setting} ", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret[WebhookOptions.SecretPrefix.Length..], failure, StringComparison.Ordinal);
        Assert.DoesNotContain(options.Secret?[WebhookOptions.SecretPrefix.Length..] ?? "\0", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_AcceptsTheDefaults_WithAUrlAndSecret_OrWithNoUrlAtAll()
    {
        Assert.True(new WebhookOptionsValidator().Validate(null, new WebhookOptions { Url = "http://receiver:8080/hooks", Secret = Secret }).Succeeded);
        Assert.True(new WebhookOptionsValidator().Validate(null, new WebhookOptions()).Succeeded);
        Assert.False(new WebhookOptions().Enabled);
    }

    [Fact]
    public void RetryDelay_DoublesFromTheFirst_UpToTheMax_EachLongerThanTheLastDespiteJitter()
    {
        var o = new WebhookOptions { FirstRetryDelay = TimeSpan.FromSeconds(5), MaxRetryDelay = TimeSpan.FromMinutes(1) };

        Assert.Equal(TimeSpan.FromSeconds(5), o.RetryDelay(1, jitter: 0));
        Assert.Equal(TimeSpan.FromSeconds(10), o.RetryDelay(2, jitter: 0));
        Assert.True(o.RetryDelay(2, jitter: 0.999) < o.RetryDelay(3, jitter: 0));
        Assert.Equal(TimeSpan.FromMinutes(1), o.RetryDelay(10, jitter: 0));
        Assert.Equal(TimeSpan.FromMinutes(1), o.RetryDelay(int.MaxValue, jitter: 0));
    }

    [Fact]
    public void UrlForDisplay_LeavesOutCredentials_AndTheQuery()
    {
        var o = new WebhookOptions { Url = "https://user:pass@hooks.example.com:8443/batches?token=abc" };

        Assert.Equal("https://hooks.example.com:8443/batches", o.UrlForDisplay);
    }
}
