package io.stratus.agent.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The default entry of a grub.cfg: a Debian 12 cloud image's grub-mkconfig output (two kernels,
 * an "Advanced options" submenu, the UEFI entry inside an if) chosen every way GRUB's
 * {@code default} names an entry, hand-written menus, and malformed or hostile files.
 */
class GrubConfigTest {
    private static final String UUID = "4b1f8f03-2a0d-4d31-9d4e-5a1a3e0d9c77";
    private static final List<String> DEBIAN_ARGS = List.of("root=PARTUUID=5f6b8e2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
            "ro", "console=tty0", "console=ttyS0,115200", "earlyprintk=ttyS0,115200", "consoleblank=0");

    private static String debian() throws IOException {
        try (InputStream in = GrubConfigTest.class.getResourceAsStream("/boot/debian-12-genericcloud.grub.cfg")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The Debian file with its default chosen by {@code set default=<value>} (the header's literal "0" replaced). */
    private static GrubConfig.Entry debianWithDefault(String value) throws IOException {
        String text = debian().replace("   set default=\"0\"", "   set default=" + value);
        assertThat(text).as("the header's default was replaced").contains("set default=" + value);
        return GrubConfig.defaultEntry(text);
    }

    @Test
    void debiansDefaultIsItsFirstEntryWithItsKernelArgumentsAndInitrd() throws IOException {
        GrubConfig.Entry e = GrubConfig.defaultEntry(debian());

        assertThat(e.title()).isEqualTo("Debian GNU/Linux");
        assertThat(e.kernel()).isEqualTo("/boot/vmlinuz-6.1.0-28-cloud-amd64");
        assertThat(e.args()).isEqualTo(DEBIAN_ARGS);
        assertThat(e.initrds()).containsExactly("/boot/initrd.img-6.1.0-28-cloud-amd64");
    }

    @Test
    void aSubmenuEntryIsChosenByIndexPath() throws IOException {
        GrubConfig.Entry e = debianWithDefault("\"1>2\"");

        assertThat(e.title()).isEqualTo("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux"
                + " 6.1.0-27-cloud-amd64");
        assertThat(e.kernel()).isEqualTo("/boot/vmlinuz-6.1.0-27-cloud-amd64");
        assertThat(e.initrds()).containsExactly("/boot/initrd.img-6.1.0-27-cloud-amd64");
    }

    @Test
    void aSubmenuEntryIsChosenByTitlePath() throws IOException {
        GrubConfig.Entry e = debianWithDefault("'Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux"
                + " 6.1.0-28-cloud-amd64 (recovery mode)'");

        assertThat(e.kernel()).isEqualTo("/boot/vmlinuz-6.1.0-28-cloud-amd64");
        assertThat(e.args()).contains("single");
    }

    @Test
    void anEntryIsChosenByItsIdInsideASubmenuChosenByItsId() throws IOException {
        GrubConfig.Entry e = debianWithDefault("\"gnulinux-advanced-" + UUID
                + ">gnulinux-6.1.0-27-cloud-amd64-recovery-" + UUID + "\"");

        assertThat(e.kernel()).isEqualTo("/boot/vmlinuz-6.1.0-27-cloud-amd64");
        assertThat(e.args()).contains("single");
    }

    @Test
    void aSubmenuChosenAloneBootsItsFirstEntry() throws IOException {
        GrubConfig.Entry e = debianWithDefault("1");

        assertThat(e.title()).isEqualTo("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux"
                + " 6.1.0-28-cloud-amd64");
    }

    @Test
    void savedAndTheSavedEntryVariableAndAnUnknownEntryAreTheFirstEntry() throws IOException {
        for (String value : List.of("saved", "\"${saved_entry}\"", "7", "'no such entry'")) {
            assertThat(debianWithDefault(value).title()).as(value).isEqualTo("Debian GNU/Linux");
        }
    }

    @Test
    void theUefiEntryInsideAnIfIsNotAMenuItem() throws IOException {
        // Index 2 would be the UEFI entry were it counted; GRUB on BIOS never defines it.
        assertThat(debianWithDefault("2").title()).isEqualTo("Debian GNU/Linux");
    }

    @Test
    void variablesSetInTheFileAndTheEntryAreExpandedAndUnquotedOnesSplit() {
        String cfg = """
                set timeout=5
                set base="/boot"
                set extra="quiet splash"
                menuentry "Live" {
                  set kcmdline="boot=live config"
                  linux ${base}/vmlinuz $kcmdline $extra "label=$extra" $unset
                  initrd (hd0,msdos1)/boot/ucode.img ($root)/boot/initrd.img
                }
                """;
        GrubConfig.Entry e = GrubConfig.defaultEntry(cfg);

        assertThat(e.kernel()).isEqualTo("/boot/vmlinuz");
        assertThat(e.args()).containsExactly("boot=live", "config", "quiet", "splash", "label=quiet splash");
        assertThat(e.initrds()).containsExactly("/boot/ucode.img", "/boot/initrd.img");
        assertThat(BootSearch.commandLine(e.args())).isEqualTo("boot=live config quiet splash \"label=quiet splash\"");
    }

    @Test
    void linuxefiAndLinux16AndCommentsAndContinuationsAreRead() {
        String cfg = "# a comment with a ' quote\nset default=1\nmenuentry a { linux16 /a }\n"
                + "menuentry 'b' --unrestricted {\n  linuxefi /vmlinuz-b \\\n    root=/dev/vda1 # trailing\n"
                + "  initrdefi /initrd-b\n}\n";
        GrubConfig.Entry e = GrubConfig.defaultEntry(cfg);

        assertThat(e.title()).isEqualTo("b");
        assertThat(e.kernel()).isEqualTo("/vmlinuz-b");
        assertThat(e.args()).containsExactly("root=/dev/vda1");
        assertThat(e.initrds()).containsExactly("/initrd-b");
    }

    @Test
    void aDoubleQuoteInAKernelArgumentIsRefused() {
        assertThatThrownBy(() -> BootSearch.commandLine(List.of("a=\"b")))
                .isInstanceOf(NotBootableException.class).hasMessageContaining("double quote");
    }

    @Test
    void truncatedFilesAreRefusedWithTheLine() {
        String truncated = "set default=0\nmenuentry 'Debian' {\n  linux /vmlinuz root=/dev/vda1\n";
        assertThatThrownBy(() -> GrubConfig.defaultEntry(truncated))
                .isInstanceOf(NotBootableException.class).hasMessageContaining("not closed");
        assertThatThrownBy(() -> GrubConfig.defaultEntry("menuentry 'Debian {\n linux /vmlinuz\n}\n"))
                .isInstanceOf(NotBootableException.class).hasMessageContaining("line 1: a single quote is not closed");
        assertThatThrownBy(() -> GrubConfig.defaultEntry("menuentry \"a\" {\n linux /v \"x\n}\n"))
                .isInstanceOf(NotBootableException.class).hasMessageContaining("line 2: a double quote is not closed");
        assertThatThrownBy(() -> GrubConfig.defaultEntry("}\nmenuentry a { linux /v }\n"))
                .isInstanceOf(NotBootableException.class).hasMessageContaining("'}' without a block");
    }

    @Test
    void deepNestingIsRefusedNotRecursedInto() {
        String deep = "submenu a {\n".repeat(10_000) + "}\n".repeat(10_000);
        assertThatThrownBy(() -> GrubConfig.defaultEntry(deep))
                .isInstanceOf(NotBootableException.class).hasMessageContaining("nest deeper than 16");
    }

    @Test
    void aFileWithoutEntriesOrADefaultWithoutLinuxIsRefused() {
        assertThatThrownBy(() -> GrubConfig.defaultEntry("set default=0\nblscfg\n"))
                .isInstanceOf(NotBootableException.class).hasMessageContaining("no menu entries");
        assertThatThrownBy(() -> GrubConfig.defaultEntry("menuentry 'Windows' { chainloader +1 }\n"))
                .isInstanceOf(NotBootableException.class)
                .hasMessageContaining("default entry 'Windows' boots no Linux kernel");
        assertThatThrownBy(() -> GrubConfig.defaultEntry("submenu 'empty' { }\n"))
                .isInstanceOf(NotBootableException.class).hasMessageContaining("submenu 'empty' has no entries");
        assertThatThrownBy(() -> GrubConfig.defaultEntry("menuentry --class x { linux /v }\n"))
                .isInstanceOf(NotBootableException.class).hasMessageContaining("without a title");
    }
}
