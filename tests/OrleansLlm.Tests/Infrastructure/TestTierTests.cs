using System.Reflection;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// Every test class is in exactly one tier, named by a <c>Category</c> trait on the class, so
/// <c>dotnet test --filter Category=Unit</c> is a fast loop that needs nothing installed, and each heavier tier runs on
/// its own (README.md, "Tests"). A class's tier is what its fixtures start, not its folder; a class that needs two
/// takes the heavier.
/// </summary>
[Trait("Category", "Unit")]
public sealed class TestTierTests
{
    /// <summary>
    /// The tiers, lightest first. Unit: in-process code only, no external process. Redis: a redis-server. Cluster: an
    /// in-process Orleans TestCluster (and its redis-server). Process: silo or CLI processes, or another program
    /// (prometheus, openssl). Deploy: <c>kubectl kustomize</c> renders. Browser: chromium.
    /// </summary>
    public static readonly IReadOnlyList<string> Tiers = ["Unit", "Redis", "Cluster", "Process", "Deploy", "Browser"];

    private const string Category = "Category";

    [Fact]
    public void EveryTestClass_HasExactlyOneKnownTier_OnTheClassAlone()
    {
        var classes = typeof(TestTierTests).Assembly.GetTypes().Where(t => t.GetMethods().Any(IsTest)).ToList();

        var wrong = classes
            .Select(Problem)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();

        // The search found the test classes, this one among them, or the check below says nothing.
        Assert.Contains(typeof(TestTierTests), classes);
        Assert.True(
            wrong.Count == 0,
            $"each test class needs exactly one [Trait(\"{Category}\", ...)] of {string.Join(", ", Tiers)}, on the class, none on its tests:\n" +
            string.Join('\n', wrong));
    }

    private static string? Problem(Type testClass)
    {
        var tiers = CategoriesOf(testClass);
        var onMethods = testClass.GetMethods().Where(IsTest).Where(m => CategoriesOf(m).Count > 0).Select(m => m.Name).ToList();
        return (tiers, onMethods) switch
        {
            (_, [_, ..]) => $"{testClass.FullName}: a Category on its tests ({string.Join(", ", onMethods)}) puts them in two tiers",
            ([], _) => $"{testClass.FullName}: no Category",
            ([var tier], _) when !Tiers.Contains(tier) => $"{testClass.FullName}: unknown Category '{tier}'",
            ([_], _) => null,
            _ => $"{testClass.FullName}: {tiers.Count} Categories ({string.Join(", ", tiers)})",
        };
    }

    private static bool IsTest(MethodInfo method) => method.GetCustomAttributes<FactAttribute>(inherit: true).Any();

    private static List<string> CategoriesOf(MemberInfo member) =>
        member.GetCustomAttributesData()
            .Where(a => a.AttributeType == typeof(TraitAttribute) && a.ConstructorArguments[0].Value as string == Category)
            .Select(a => a.ConstructorArguments[1].Value as string ?? string.Empty)
            .ToList();
}
